"""Collection for the doctests in src/: a module whose examples need an optional piece is left out
without it, as the tests in tests/ that need one skip (NumPy, PyTorch and tomlkit are optional extras).
"""

import importlib.util

NEEDS = {  # doctest files -> the optional module their examples use
    "src/handprop/engine/numpy_*.py": "numpy",
    "src/handprop/boundary.py": "numpy",
    "src/handprop/pytorch/oracle.py": "torch",
    "src/handprop/pytorch/modules.py": "torch",
    "src/handprop/pytorch/ops.py": "torch",
    "src/handprop/serve/form.py": "tomlkit",
}

collect_ignore_glob = [files for files, module in NEEDS.items() if importlib.util.find_spec(module) is None]
