"""The PyQt6 window. It draws what the core in ``keras_models`` sends it."""
