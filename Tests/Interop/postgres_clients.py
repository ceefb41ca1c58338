#!/usr/bin/env python3
"""Reads Firestream's PostgreSQL warehouse the way BI tools' drivers do: psycopg, SQLAlchemy
(with its reflection queries) and pandas. Argument: a postgresql:// URL."""
import sys

import pandas
import psycopg
import sqlalchemy

url = sys.argv[1]

with psycopg.connect(url) as connection:
    rows = connection.execute("SELECT device_id, measurement FROM latest ORDER BY device_id").fetchall()
    assert all(isinstance(row[1], float) for row in rows), rows
    print(f"psycopg: {len(rows)} devices")

engine = sqlalchemy.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
inspector = sqlalchemy.inspect(engine)
tables = sorted(name for name in inspector.get_table_names() if not name.startswith("_"))
print(f"sqlalchemy: tables {', '.join(tables)}")
columns = [column["name"] for column in inspector.get_columns("points")]
assert columns == ["device_id", "measurement", "event_time", "_partition", "_offset", "_timestamp"], columns

frame = pandas.read_sql("SELECT * FROM latest", engine)
print(f"pandas: {len(frame)} rows, columns {', '.join(frame.columns)}")
