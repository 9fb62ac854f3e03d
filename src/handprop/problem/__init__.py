"""Problems: a problem file's text (TOML, JSON, YAML) or Python values -> a checked Problem, whose layered
network or equations are lowered to the program of scalar equations."""
