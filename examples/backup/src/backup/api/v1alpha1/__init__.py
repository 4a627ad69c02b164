"""``backup.example.com/v1alpha1``."""

from backup.api.v1alpha1.scheduledbackup_types import (
    ScheduledBackup,
    ScheduledBackupSpec,
    ScheduledBackupStatus,
)

__all__ = ["ScheduledBackup", "ScheduledBackupSpec", "ScheduledBackupStatus"]
