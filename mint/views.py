"""Site-wide error pages."""

from django.http import JsonResponse
from django.views.defaults import server_error as html_server_error


def server_error(request, *args, **kwargs):
    """A crash: under ``/api/`` in the API's error shape (a mobile client reads JSON, not
    Django's HTML page), elsewhere Django's page. Details stay in the log."""
    if request.path.startswith("/api/"):
        return JsonResponse({"error": {"code": "server_error",
                                       "message": "Something went wrong on our side; it has "
                                                  "been logged.",
                                       "details": {}}}, status=500)
    return html_server_error(request, *args, **kwargs)
