from django.contrib import admin
from django.http import HttpResponse
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("helpdesk/", include("helpdesk.urls")),  # API: /helpdesk/api/tickets/
    path("ping", lambda r: HttpResponse("ok")),  # readiness probe
]
