"""Prepare the django-helpdesk peer database at $PEERS_DJ_DB.

bootstrap.py          migrate; create a staff user with a DRF token and one queue;
                      print "<token> <queue id>"
bootstrap.py counts   print "<tickets> <follow-ups>" (each API create makes one of each)
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")
import django

django.setup()
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from helpdesk.models import FollowUp, Queue, Ticket  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402

if sys.argv[1:] == ["counts"]:
    print(Ticket.objects.count(), FollowUp.objects.count())
    sys.exit(0)

call_command("migrate", verbosity=0, interactive=False)
user = get_user_model().objects.create_superuser("admin", "admin@example.com", None)  # no password: no hashing
token = Token.objects.create(user=user)
queue = Queue.objects.create(title="Support", slug="support")
print(token.key, queue.id)
