"""`handprop serve`: the local page, its routes, the tasks it runs in a worker process, and its fields."""
