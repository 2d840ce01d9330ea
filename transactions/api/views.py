from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from categories.api.serializers import TransactionCategorizeSerializer
from categories.services import transaction_categorize
from mint.api import ID_PATTERN, NewestFirstPagination, error_response, id_parameter
from mint.schema import ErrorSerializer

from ..importers import ImportFormatError
from ..models import ImportJob, Transaction
from ..selectors import import_jobs_for, transactions_for
from ..services.imports import ImportNotUndoable, import_create, import_undo
from .filters import TransactionFilter
from .pagination import KeysetPagination
from .serializers import (
    ImportJobSerializer,
    ImportUploadSerializer,
    TransactionCategorizedSerializer,
    TransactionSerializer,
)

TRANSACTION_ID = id_parameter("A unique integer value identifying this transaction.")


@extend_schema_view(retrieve=extend_schema(parameters=[TRANSACTION_ID]))
class TransactionViewSet(viewsets.ReadOnlyModelViewSet):
    """The user's transactions, newest first, paged by cursor (``?cursor=…&page_size=``).

    ``PATCH`` files one under a category by hand (then it is never recategorised
    automatically); ``"always": true`` also makes a rule for its seller."""

    queryset = Transaction.objects.none()  # for the schema; get_queryset scopes
    serializer_class = TransactionSerializer
    filterset_class = TransactionFilter
    pagination_class = KeysetPagination
    lookup_value_regex = ID_PATTERN

    def get_queryset(self):
        return transactions_for(user=self.request.user)

    @extend_schema(parameters=[TRANSACTION_ID], request=TransactionCategorizeSerializer,
                   responses=TransactionCategorizedSerializer)
    def partial_update(self, request, pk=None):
        tx = self.get_object()
        data = TransactionCategorizeSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        tx, rule = transaction_categorize(user=request.user, transaction_id=tx.id,
                                          **data.validated_data)
        tx.rule = rule.id if rule else None
        return Response(TransactionCategorizedSerializer(tx).data)


class ImportViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Upload a statement file. 201 with counts when it is ingested at once, 202 with an
    ``id`` to poll at ``/api/v1/imports/{id}/`` for big files."""

    queryset = ImportJob.objects.none()  # for the schema; get_queryset scopes
    serializer_class = ImportJobSerializer
    parser_classes = [MultiPartParser, FormParser]
    pagination_class = NewestFirstPagination

    def get_queryset(self):
        return import_jobs_for(user=self.request.user)

    @extend_schema(request=ImportUploadSerializer, responses={201: ImportJobSerializer,
                                                              202: ImportJobSerializer})
    def create(self, request):
        upload = ImportUploadSerializer(data=request.data, context={"request": request})
        upload.is_valid(raise_exception=True)
        data = upload.validated_data
        file = data["file"]
        try:
            job = import_create(
                user=request.user, data=file.read(), filename=file.name or "",
                format=data.get("format"), account=data.get("account"),
                options=data.get("options"),
            )
        except ImportFormatError as exc:
            return error_response(400, "invalid_file", str(exc),
                                  {"line": exc.line} if exc.line else {})
        finished = job.status == job.Status.SUCCEEDED
        return Response(
            ImportJobSerializer(job).data,
            status=status.HTTP_201_CREATED if finished else status.HTTP_202_ACCEPTED,
        )

    @extend_schema(request=None, responses={200: ImportJobSerializer, 409: OpenApiResponse(
        ErrorSerializer, description="`not_undoable`: failed, not finished, undone already, "
                                     "or made before imports could be undone; `message` "
                                     "says which.")})
    @action(detail=True, methods=["post"])
    def undo(self, request, pk=None):
        """Deletes the transactions this import added (not those that were there before
        it, nor those a later import or refresh changed since) and the accounts it created
        once empty; ``undone_at`` and ``removed`` say when and how many. 409
        ``not_undoable`` with the reason for an import that failed, has not finished, was
        undone already, or was made before imports could be undone."""
        job = self.get_object()
        try:
            job = import_undo(job=job)
        except ImportNotUndoable as exc:
            return error_response(409, "not_undoable", str(exc))
        return Response(ImportJobSerializer(job).data)
