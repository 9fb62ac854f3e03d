"""Collection for the doctests in src/: a module whose examples need an optional piece is left out
without it, as the tests in tests/ that need one skip (NumPy, PyTorch and tomlkit are optional extras).
"""

import importlib.util

NEEDS = {  # doctest files -> the optional module their examples use
    "src/handprop/vectorized*.py": "numpy",
    "src/handprop/torch_program.py": "torch",
    "src/handprop/serve_form.py": "tomlkit",
}

collect_ignore_glob = [files for files, module in NEEDS.items() if importlib.util.find_spec(module) is None]
