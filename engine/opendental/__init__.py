"""What is specific to Open Dental rather than to MySQL/MariaDB in general.

``demo/`` builds the sample practice behind ``odbackup demo``. (``engine/database/``
stays about MySQL/MariaDB; the admin-password audit and the check of ``document``
rows against the images folder belong here when they come.)
"""
