"""PyTorch: the float64 oracle that verify holds handprop to, from_torch/to_torch, and the exported script.
torch is imported inside functions only: importing these modules never loads it."""
