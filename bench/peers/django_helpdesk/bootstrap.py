"""Prepare the django-helpdesk peer database at $PEERS_DJ_DB.

bootstrap.py          migrate; create a staff user with a DRF token and one queue;
                      print "<token> <queue id>"
bootstrap.py counts   print "<tickets> <follow-ups>" (each API create makes one of each)
bootstrap.py seed N   add N tickets with a follow-up each (bulk, for the mixed scenario): every tenth and the
                      newest 2,000 open, the rest resolved; two in three assigned to the admin; priorities 1-5
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")
import django

django.setup()
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.utils import timezone  # noqa: E402
from helpdesk.models import FollowUp, Queue, Ticket  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402

if sys.argv[1:] == ["counts"]:
    print(Ticket.objects.count(), FollowUp.objects.count())
    sys.exit(0)

if sys.argv[1:2] == ["seed"]:
    count, now = int(sys.argv[2]), timezone.now()
    admin, queue = get_user_model().objects.get(username="admin"), Queue.objects.get(slug="support")
    made = Ticket.objects.bulk_create(
        [
            Ticket(queue=queue, title="Printer on fire", description="seeded", submitter_email="user@example.com",
                   status=Ticket.OPEN_STATUS if i % 10 == 0 or i >= count - 2000 else Ticket.RESOLVED_STATUS,
                   priority=1 + i % 5, assigned_to=admin if i % 3 else None, created=now, modified=now)
            for i in range(count)
        ],
        batch_size=500,
    )  # fmt: skip
    FollowUp.objects.bulk_create(
        [FollowUp(ticket=t, title="Ticket Opened", comment="seeded", public=True, date=now) for t in made],
        batch_size=500,
    )
    sys.exit(0)

call_command("migrate", verbosity=0, interactive=False)
user = get_user_model().objects.create_superuser("admin", "admin@example.com", None)  # no password: no hashing
token = Token.objects.create(user=user)
queue = Queue.objects.create(title="Support", slug="support")
print(token.key, queue.id)
