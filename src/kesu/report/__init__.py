"""Reports and analytics (统计报告): weekly, monthly, annual and any range, for any scope."""
