"""The Qt-free core: models, losses, data, training sessions, evaluation and the β study.

Importing this package is cheap. TensorFlow loads only with a module that needs
it (models, training, grids, evaluation), or when the data package builds a
pipeline or reads tensorflow-datasets.
"""
