"""Runtime profiles and naming rules: which functions are the allocator, GC, tasks, and so on."""
