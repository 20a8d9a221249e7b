"""tf.data pipelines from arrays."""
import numpy as np

from keras_models.data import pipeline


def test_pipeline_batches_keep_images_with_their_labels():
    n = 23
    images = np.arange(n, dtype="float32")[:, None, None, None] * np.ones((1, 2, 2, 1), "float32")
    labels = np.arange(n, dtype="int32")
    epochs = []
    ds = pipeline.make_pipeline(images, labels, batch_size=5, shuffle=True, seed=3)
    for _ in range(2):
        seen = []
        sizes = []
        for x, y in ds:
            x, y = x.numpy(), y.numpy()
            sizes.append(len(y))
            np.testing.assert_array_equal(x[:, 0, 0, 0], y.astype("float32"))
            seen.extend(y.tolist())
        assert sizes == [5, 5, 5, 5, 3]
        assert sorted(seen) == list(range(n))
        epochs.append(seen)
    assert epochs[0] != epochs[1]  # reshuffled each epoch
    assert epochs[0] != list(range(n))

    in_order = [y for _, ys in pipeline.make_pipeline(images, labels, 10, shuffle=False) for y in ys.numpy()]
    assert in_order == list(range(n))
