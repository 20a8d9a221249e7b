"""The Ray engine: each trial of a study is a Ray Tune trial, so the same command runs on a
laptop (a local Ray started for the study) or a cluster (``address``).

How a trial runs: Tune starts ``tune_trial`` in a worker process with
``cpus_per_trial`` CPUs reserved; it caps TensorFlow's threads to them, loads the data
by name (or gets the small in-memory split the caller handed over, through the object
store), and runs ``run_trial`` in ``<study>/runs/<key>``. After each checkpointed epoch it
reports to Tune with the run folder as the Tune checkpoint, so a worker that dies is
retried once from ``tune.get_checkpoint()`` (copied back into the run folder when that
node does not have it), and a node that cannot see the study folder still sends its run
folder home. Its last report carries its row. The driver trains nothing: it follows the
trials through a Tune callback and records each as it ends.

Importing this module imports Ray (not TensorFlow): the command line imports it only after
checking its flags, and only for ``--engine ray``.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any

import ray
from ray import tune

from keras_models.config import ConfigError
from keras_models.events import EpochDone, JobState, StageStarted, Stopped
from keras_models.study.engines import Ended, StudyPlan
from keras_models.study.ledger import (FAILED, FINISHED, STOPPED, TRIAL_FILE, checkpointed_epoch, classifier_blob,
                                      one_line, read_trial, run_dir_of)
from keras_models.threads import intra_op_threads, usable_cores

LOCAL_OBJECT_STORE_BYTES = 256 * 1024 ** 2  # the study ships only small things through it
PACKAGE = Path(__file__).resolve().parents[1]  # keras_models, what a trial imports
TUNE_DIR = "tune"


@dataclasses.dataclass
class RayOptions:
    """``address``: None starts a Ray on this machine for the study and stops it after; "auto"
    or "ray://HOST:PORT" joins a running cluster. ``storage``: where Tune keeps its
    experiment (default: the study folder). ``callbacks``: more Tune callbacks."""

    address: str | None = None
    cpus_per_trial: int = 1
    gpus_per_trial: float = 0
    storage: str | None = None
    num_cpus: int | None = None  # of a local Ray; default: every core of this machine
    object_store_bytes: int = LOCAL_OBJECT_STORE_BYTES
    max_failures: int = 1  # retries of a trial whose worker died, from its last checkpoint
    callbacks: tuple = ()


def thread_env(cpus: int) -> dict[str, str]:
    """Environment of every worker: thread pools sized to a trial's CPUs before TensorFlow starts."""
    return {"OMP_NUM_THREADS": str(cpus), "TF_NUM_INTRAOP_THREADS": str(intra_op_threads(cpus, cpus)),
            "TF_NUM_INTEROP_THREADS": str(cpus), "TF_CPP_MIN_LOG_LEVEL": "2"}


class RayEngine:
    name = "ray"

    def __init__(self, options: RayOptions | None = None) -> None:
        self.options = options or RayOptions()
        self._started = False

    # ----- the cluster -------------------------------------------------------------------------
    def open(self) -> None:
        opts = self.options
        if ray.is_initialized():  # the caller's Ray (tests, a notebook): use it, leave it running
            self._check_resources()
            return
        env = thread_env(opts.cpus_per_trial)
        if opts.address is None:
            cpus = opts.num_cpus or usable_cores()
            if opts.cpus_per_trial > cpus:
                raise ConfigError(f"--cpus-per-trial {opts.cpus_per_trial} is more than this machine's {cpus} CPUs")
            # Workers here import the project from where this process found it, whatever their folder.
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PACKAGE.parent), os.environ.get("PYTHONPATH")]))
            ray.init(num_cpus=cpus, object_store_memory=opts.object_store_bytes, include_dashboard=False,
                     log_to_driver=False, logging_level=logging.WARNING, runtime_env={"env_vars": env})
        else:
            # Ray ships this package to the cluster's nodes: they need the packages of requirements.txt only.
            ray.init(address=opts.address, log_to_driver=False, logging_level=logging.WARNING,
                     runtime_env={"env_vars": env, "py_modules": [str(PACKAGE)], "excludes": ["__pycache__"]})
        self._started = True
        self._check_resources()

    def _check_resources(self) -> None:
        """Refuse a trial no node can hold: Tune would wait for it forever."""
        nodes = [n["Resources"] for n in ray.nodes() if n.get("Alive")]
        for resource, flag, wanted in (("CPU", "--cpus-per-trial", self.options.cpus_per_trial),
                                       ("GPU", "--gpus-per-trial", self.options.gpus_per_trial)):
            largest = max((n.get(resource, 0) for n in nodes), default=0)
            if wanted > largest:
                self.close()
                raise ConfigError(f"{flag} {wanted:g}: no node of the Ray cluster has that many {resource}s "
                                  f"(the largest has {largest:g})")

    def close(self) -> None:
        if self._started:
            ray.shutdown()
            self._started = False

    # ----- the trials -------------------------------------------------------------------------
    def run(self, plan: StudyPlan, pending: list[dict[str, Any]], state: JobState, ended: Ended) -> None:
        opts, config = self.options, plan.config
        explicit = plan.data if plan.explicit_data else None
        # Sent to every trial, so a node that cannot see the study folder judges with the same network.
        blob = classifier_blob(plan.report_dir)
        if not pending:
            return
        follower = _Follower(pending, config.training.epochs, state, ended)
        trainable = tune.with_resources(
            tune.with_parameters(tune_trial, data=explicit, classifier=blob),
            {"cpu": opts.cpus_per_trial, "gpu": opts.gpus_per_trial})
        storage = Path(opts.storage).expanduser().resolve() if opts.storage and "://" not in opts.storage \
            else opts.storage
        tuner = tune.Tuner(
            trainable,
            param_space={"trial": tune.grid_search(pending), "study": dataclasses.asdict(config),
                         "report_dir": str(plan.report_dir.resolve()), "cpus": opts.cpus_per_trial},
            tune_config=tune.TuneConfig(reuse_actors=True, trial_name_creator=_trial_name,
                                        trial_dirname_creator=_trial_name),
            run_config=tune.RunConfig(
                name=TUNE_DIR if storage is None else plan.report_dir.name,
                storage_path=str(storage or plan.report_dir.resolve()), verbose=0,
                stop=_StopWhenAsked(state), callbacks=[follower, *opts.callbacks],
                failure_config=tune.FailureConfig(max_failures=opts.max_failures),
                checkpoint_config=tune.CheckpointConfig(num_to_keep=1)))
        # The study's own stop (Ctrl+C in the command line, Stop in the window) ends the trials
        # through _StopWhenAsked; Tune's handler would stop the loop without telling the study.
        os.environ["TUNE_DISABLE_SIGINT_HANDLER"] = "1"
        os.environ.setdefault("TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S", "0")
        os.environ["RAY_AIR_NEW_OUTPUT"] = "0"  # with verbose=0 the newer console output still prints paths
        # Tune warns that it has no metrics for trials a stop ended before their first report.
        logging.getLogger("ray.tune.analysis.experiment_analysis").setLevel(logging.ERROR)
        grid = tuner.fit()
        for result in grid:  # what the follower did not see: Ray Client runs callbacks on the cluster
            entry = result.config["trial"] if result.config else None
            if entry is not None and entry["key"] not in follower.ended_keys:
                outcome = _outcome(result.metrics or {}, result.error)
                record = read_trial(run_dir_of(plan.report_dir, entry["key"]))
                if outcome["status"] == STOPPED and record is not None and record["status"] == FINISHED:
                    outcome = {k: record.get(k) for k in ("status", "reason", "row", "where")}  # done as the stop came
                follower.end(entry, outcome)
            if entry is not None and result.checkpoint is not None:
                _fetch_run_folder(result.checkpoint, run_dir_of(plan.report_dir, entry["key"]))
        if state.stop_requested:
            raise Stopped


def _trial_name(trial: Any) -> str:
    return trial.config["trial"]["key"]


def _outcome(metrics: dict[str, Any], error: BaseException | None) -> dict[str, Any]:
    """A trial's record from its last report (its trial.json, sent along), or from Tune's error."""
    if metrics.get("status") in (FINISHED, FAILED) and metrics.get("record"):
        record = json.loads(metrics["record"])
        return {k: record.get(k) for k in ("status", "reason", "row", "where")}
    if error is not None:
        return {"status": FAILED, "reason": _error_line(error), "row": None}
    return {"status": STOPPED, "reason": "stopped before it finished", "row": None}


def _error_line(error: BaseException) -> str:
    """One line for a trial Tune gave up on: a dead worker says so; otherwise the error's cause."""
    text = str(error)
    if "died" in text or "ActorDiedError" in type(error).__name__ or "ActorDiedError" in text:
        return "its worker process died (killed, out of memory or crashed) and the retry did not finish either"
    cause = getattr(error, "cause", None) or error.__cause__
    return one_line(cause) if isinstance(cause, BaseException) else one_line(error)


def _fetch_run_folder(checkpoint: Any, run_dir: Path) -> None:
    """Bring a finished trial's run folder home from Tune's storage when it is not here (a node
    that does not share the study folder); then drop Tune's copy, which only doubled the disk
    the study takes."""
    record = read_trial(run_dir)
    if record is None or record["status"] != FINISHED:
        staged = run_dir.with_name(f".{run_dir.name}-fetching")
        shutil.rmtree(staged, ignore_errors=True)
        checkpoint.to_directory(str(staged))
        if (staged / TRIAL_FILE).exists():
            shutil.rmtree(run_dir, ignore_errors=True)
            staged.rename(run_dir)
        else:
            shutil.rmtree(staged, ignore_errors=True)
    record = read_trial(run_dir)
    if record is not None and record["status"] == FINISHED:
        try:
            checkpoint.filesystem.delete_dir(checkpoint.path)
        except OSError:
            pass  # a copy left in the storage costs disk, nothing else


class _StopWhenAsked(tune.Stopper):
    """Ends every trial once a stop is requested on the study's state."""

    def __init__(self, state: JobState) -> None:
        self.state: JobState | None = state

    def __getstate__(self) -> dict[str, Any]:
        return {"state": None}  # Tune pickles its settings; the live state (a lock) stays on the driver

    def __call__(self, trial_id: str, result: dict[str, Any]) -> bool:
        return False

    def stop_all(self) -> bool:
        return self.state is not None and self.state.stop_requested


class _Follower(tune.Callback):
    """Follows the trials on the driver: progress from each epoch, the record of each as it ends."""

    def __init__(self, pending: list[dict[str, Any]], epochs: int, state: JobState, ended: Ended) -> None:
        self.total, self.epochs, self.state, self.ended = len(pending), epochs, state, ended
        self.progress: dict[str, float] = {}
        self.ended_keys: set[str] = set()

    def __getstate__(self) -> dict[str, Any]:
        # Tune pickles its settings, callbacks included; only the driver's live copy follows trials.
        return {**self.__dict__, "state": None, "ended": None}

    def fraction(self) -> float:
        return 0.05 + 0.9 * sum(self.progress.values()) / max(self.total, 1)

    def end(self, entry: dict[str, Any], outcome: dict[str, Any]) -> None:
        self.ended_keys.add(entry["key"])
        self.progress[entry["key"]] = 1.0
        if self.ended is not None:
            self.ended({**entry, **outcome})

    def on_trial_result(self, iteration: int, trials: list, trial: Any, result: dict, **info: Any) -> None:
        if self.state is None:  # an unpickled copy, away from the driver
            return
        entry = trial.config["trial"]
        if result.get("status") in (FINISHED, FAILED):
            self.end(entry, _outcome(result, None))
        elif "epoch" in result:
            self.progress[entry["key"]] = result["epoch"] / (self.epochs + 1)
            self.state.report(StageStarted(
                f"{entry['title']}, seed {entry['seed']}: epoch {result['epoch']} of {self.epochs}, "
                f"test NELBO {result.get('val_nelbo', float('nan')):.2f} "
                f"({len(self.ended_keys)} of {self.total} trials ended)", self.fraction()))

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        entry = trial.config["trial"]
        if entry["key"] not in self.ended_keys:
            error = trial.get_error() if hasattr(trial, "get_error") else None
            reason = _error_line(error) if error is not None else "the trial failed in Ray"
            self.end(entry, {"status": FAILED, "reason": reason, "row": None})


# ----- inside the Ray workers -----------------------------------------------------------------
def tune_trial(tune_config: dict[str, Any], data: Any = None, classifier: dict[str, Any] | None = None) -> None:
    """The Tune function trainable: one trial of the study (see the module's docstring)."""
    from keras_models.study.config import StudyConfig
    from keras_models.study.ledger import where, write_trial
    from keras_models.study.trial import classifier_from_blob, limit_threads, run_trial, trial_data

    threads = limit_threads(int(tune_config["cpus"]))
    entry = tune_config["trial"]
    epochs = int(tune_config["study"]["training"]["epochs"])
    report_dir = Path(tune_config["report_dir"])
    run_dir = run_dir_of(report_dir, entry["key"])
    _restore(tune.get_checkpoint(), run_dir)
    node_id = ray.get_runtime_context().get_node_id()  # in Tune's results of every attempt, not only the last

    def report_epoch(event: Any) -> None:
        if isinstance(event, EpochDone):
            epoch = int(event.record["epoch"])
            metrics = {"epoch": epoch, **{k: float(v) for k, v in event.record.items() if k != "epoch"},
                       "node_id": node_id}
            # Not the last epoch's: the trial's final report, seconds later, carries the whole run folder.
            saved = checkpointed_epoch(run_dir) == epoch and epoch < epochs
            tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(str(run_dir)) if saved else None)

    try:
        config = StudyConfig.from_dict(tune_config["study"])
        split = trial_data(config, data)
        judge = classifier_from_blob(classifier, split) if classifier else None
        run_trial(config, entry, split, judge, report_dir, JobState(on_event=report_epoch))
    except Exception as exc:  # a failure of this trial's own (NaN loss, bad checkpoint): no retry
        record = write_trial(run_dir, entry, FAILED, reason=one_line(exc), error=exc,
                             place={**where(), "threads": threads})
        tune.report({"status": FAILED, "record": json.dumps(record, default=float)})
        return
    # The finished run folder as the last checkpoint: a driver that cannot see this node's disk fetches it.
    tune.report({"status": FINISHED, "record": json.dumps(read_trial(run_dir), default=float)},
                checkpoint=tune.Checkpoint.from_directory(str(run_dir)))


def _restore(checkpoint: Any, run_dir: Path) -> None:
    """Continue from Tune's last checkpoint when the run folder here is behind it (a retry on a
    node without the folder, or whose copy is older); otherwise the run folder is the newer."""
    if checkpoint is None:
        return
    with checkpoint.as_directory() as saved:
        if checkpointed_epoch(saved) > checkpointed_epoch(run_dir):
            shutil.rmtree(run_dir, ignore_errors=True)
            shutil.copytree(saved, run_dir)
