"""Who may use the authoring pages: authors and admins write; HR may also read the item statistics."""

from training.auth.access import roles_required

AUTHOR_ROLES = ("author", "admin")
STATS_ROLES = ("author", "admin", "hr")

authors_only = roles_required(*AUTHOR_ROLES)
statistics_viewers_only = roles_required(*STATS_ROLES)
