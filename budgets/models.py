# Budgets arrive with the budgets-and-alerts issue.
