"""Import of historical complaint ledgers (客户投诉登记表) from XLSX/CSV."""
