"""What is specific to Open Dental rather than to MySQL/MariaDB in general.

``demo/`` builds the sample practice behind ``odbackup demo``; ``documents.py``
checks the files the ``document`` and ``eobattach`` rows name against an images
folder (verify, the backup's preflight). (``engine/database/`` stays about
MySQL/MariaDB; the admin-password audit belongs here when it comes.)
"""
