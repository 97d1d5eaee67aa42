"""The county's work-item list (涉村工作事项清单): import, history, search. Server-only."""
