FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
# DEBUG=true: no secrets at build time; STATIC_MANIFEST=true: the hashed names and
# manifest that production (DEBUG off) serves.
RUN DEBUG=true STATIC_MANIFEST=true python manage.py collectstatic --noinput
USER nobody
EXPOSE 8000
CMD ["gunicorn", "mint.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3"]
