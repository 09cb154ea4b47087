-- How many times a worker has claimed the task; a task interrupted by shutdown is queued again until
-- its attempts reach the cap (max_task_attempts).
ALTER TABLE tasks ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
