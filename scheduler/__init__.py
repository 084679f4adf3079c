"""Lives on time, on any worker: the scheduler dispatches due schedules and queued sessions to
Celery, stops lives at their end, and restarts the lives of workers that died; workers run them."""
