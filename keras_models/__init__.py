"""The Qt-free core: models, losses, data, training sessions and image grids.

Importing this package is cheap; TensorFlow loads only when a module that
needs it (models, data pipelines, training, grids) is imported.
"""
