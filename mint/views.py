"""Helpers shared by the dashboard's views."""

from functools import wraps

from django.contrib import messages
from django.http import HttpResponseNotAllowed
from django.shortcuts import redirect
from django.urls import reverse

NOTHING_CHANGED = "Nothing was changed: that address only takes a form. Do it again here."


def post_only(page: str, anchor: str = ""):
    """``require_POST`` for a form's target, except that a GET goes to the page the form
    is on (``page``, a URL name without arguments, plus ``anchor``), saying nothing was
    changed, instead of a bare 405. A GET comes from the address bar, a bookmark, or the
    log-in page sending the person back to where their form posted after their session
    had ended (its ``next``)."""
    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if request.method == "POST":
                return view(request, *args, **kwargs)
            if request.method in ("GET", "HEAD"):
                messages.info(request, NOTHING_CHANGED)
                return redirect(reverse(page) + anchor)
            return HttpResponseNotAllowed(["POST"])
        return wrapped
    return decorator
