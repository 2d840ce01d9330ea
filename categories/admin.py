from django.contrib import admin

from .models import Category


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["__str__", "user", "is_income", "is_transfer"]
    search_fields = ["name"]
    raw_id_fields = ["user", "parent"]
