"""Folders: backing up the A to Z images folder and other office folders,
the local files cache that makes unchanged re-runs fast, and restore."""
