"""One Ray for the whole test session: a simulated two-node cluster on this machine (two nodes
of one CPU each, 2 CPUs in all, small object stores, no dashboard), shut down at the end.
Where Ray cannot start, every test that needs it is skipped with the reason."""
import logging
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
OBJECT_STORE_BYTES = 80 * 1024 ** 2  # Ray's minimum is 75 MiB; the tests ship a few MB through it


@pytest.fixture(scope="session")
def ray_cluster():
    """A connected two-node Ray cluster (``ray.cluster_utils.Cluster``), as the study's trials see one."""
    try:
        import ray
        from ray.cluster_utils import Cluster

        from keras_models.study.ray_engine import thread_env
    except Exception as exc:  # noqa: BLE001 (any import failure means: no Ray here)
        pytest.skip(f"Ray cannot be imported here: {type(exc).__name__}: {exc}")
    cluster = None
    try:
        cluster = Cluster(initialize_head=True, head_node_args={
            "num_cpus": 1, "object_store_memory": OBJECT_STORE_BYTES, "include_dashboard": False})
        cluster.add_node(num_cpus=1, object_store_memory=OBJECT_STORE_BYTES)
        env = {**thread_env(1), "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
        ray.init(address=cluster.address, log_to_driver=False, logging_level=logging.WARNING,
                 runtime_env={"env_vars": env})
    except Exception as exc:  # noqa: BLE001
        if cluster is not None:
            cluster.shutdown()
        pytest.skip(f"Ray cannot start here: {type(exc).__name__}: {exc}")
    yield cluster
    ray.shutdown()
    cluster.shutdown()
