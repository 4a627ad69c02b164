"""The backup application: ``kubeweft run backup.app:app``."""

import kubeweft

from backup.api.v1alpha1 import ScheduledBackup
from backup.controllers.scheduledbackup import ScheduledBackupReconciler

app = kubeweft.App("backup")
app.add_model(ScheduledBackup)
app.add_controller(ScheduledBackup, ScheduledBackupReconciler)
