"""Scheduling: when each job runs, and how the operating system is told.

``model`` is the pure part (the calendar and ``next_runs``); ``systemd``,
``cron`` and ``windows`` turn a job into what each scheduler reads (timer
and service units, cron lines, Task Scheduler XML). No resident process of
ours ever waits for a time: the operating system starts ``odbackup run JOB``.
"""
