"""scheduler/planner."""
