"""Loading TensorFlow without its start-up chatter on the terminal.

Shared by every command and the window: whoever loads TensorFlow first loads it
through here, so a one-line error or a progress bar is not buried under its log lines.
"""
from __future__ import annotations

import os
import sys
import tempfile

from keras_models.threads import share_cores_between_slices

# Keep TensorFlow's log lines out of the terminal once it runs; real errors still show.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
share_cores_between_slices()


def import_tensorflow_quietly() -> None:
    """Import TensorFlow with file descriptor 2 sent to a temporary file.

    Its C++ libraries log oneDNN and CUDA lines through absl before absl is set up,
    when TF_CPP_MIN_LOG_LEVEL does not apply yet, and the CUDA probe of the first
    device look-up logs an error on machines without a GPU driver; nothing else
    silences them. What they wrote is shown only if the import fails.
    """
    if "tensorflow" in sys.modules:
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow
            tensorflow.config.list_physical_devices()
        except BaseException:
            os.dup2(saved, 2)
            captured.seek(0)
            sys.stderr.write(captured.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)
