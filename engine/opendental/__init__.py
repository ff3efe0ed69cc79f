"""What is specific to Open Dental rather than to MySQL/MariaDB in general.

``demo/`` builds the sample practice behind ``odbackup demo``; ``documents.py``
checks the files the ``document`` and ``eobattach`` rows name against an images
folder (verify, the backup's preflight); ``admins.py`` finds the admin users
(SecurityAdmin) without a password; ``supplemental.py`` reads Open Dental's own
Supplemental Backups settings from its ``preference`` table. All of it is
read-only. (``engine/database/`` stays about MySQL/MariaDB.)
"""
