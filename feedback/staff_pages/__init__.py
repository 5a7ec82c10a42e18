"""Staff pages of service quality, one blueprint ("feedback_staff") in modules by
sub-feature. Admins only, except the tablet list; an admin bound to an office sees that
office only.

- common: the blueprint, the `local_dt` filter, and who sees which offices;
- dashboard: the service-quality overview;
- followup: follow-up cases of bad ratings (差评回访);
- suggestion_box: the suggestion box's workflow (受理、答复、办结);
- registrars: registrars' public profiles (photo, staff number, on duty);
- statistics: statistics (page, CSV) and the monthly report;
- audit: the audit log (page, CSV);
- tablets: the rating tablets of an office.

Importing this package registers every view on `blueprint`."""

from feedback.staff_pages import (  # noqa: F401  (each module adds its views to the blueprint)
    audit,
    dashboard,
    followup,
    registrars,
    statistics,
    suggestion_box,
    tablets,
)
from feedback.staff_pages.common import blueprint

__all__ = ["blueprint"]
