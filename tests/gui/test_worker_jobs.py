"""The worker's job queue, without running the jobs."""
from gui.worker import ExportGifJob, ModelWorker, SaveModelJob, TrainJob


def test_stop_reaches_the_training_even_after_a_gif_or_model_save_was_queued(qapp):
    worker = ModelWorker()
    submitted = []
    worker._job_submitted.disconnect()  # record the queue instead of running the jobs
    worker._job_submitted.connect(lambda job, state: submitted.append((job, state)))
    worker.submit(TrainJob({"epochs": 1}))
    worker.submit(ExportGifJob("traversal.gif"))
    worker.submit(SaveModelJob("model.keras"))
    worker.stop()
    (_, training), (_, gif), (_, save) = submitted
    assert training.stop_requested
    assert not gif.stop_requested and not save.stop_requested
