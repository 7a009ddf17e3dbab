#!/usr/bin/python3
"""SQLAlchemy (and pandas) against a running keapgres, used the way Superset and notebooks use them.

usage: check_sqlalchemy.py PORT DRIVER      DRIVER is psycopg2 or psycopg (psycopg 3)

Prints one JSON object on standard output: what SQLAlchemy's Inspector reflected for every table, a
pandas.read_sql result, and what a server-side cursor streamed. The node test decides what is right.
Exit status 3 with a reason on standard output when this stack cannot run here (missing packages).
"""
import json
import sys


def step(what: str) -> None:
    print(what, file=sys.stderr, flush=True)


def main() -> int:
    port, driver = int(sys.argv[1]), sys.argv[2]
    try:
        import sqlalchemy
        from sqlalchemy import create_engine, inspect, text
        import pandas
        if driver == 'psycopg2':
            import psycopg2  # noqa: F401
        else:
            import psycopg  # noqa: F401
    except ImportError as e:
        print(json.dumps({'unavailable': f'missing Python package: {e.name}'}))
        return 3
    major = int(sqlalchemy.__version__.split('.')[0])
    if driver == 'psycopg' and major < 2:
        print(json.dumps({'unavailable': f'SQLAlchemy {sqlalchemy.__version__} has no psycopg 3 dialect (needs 2.0)'}))
        return 3

    url = f'postgresql+{driver}://tester@127.0.0.1:{port}/keap'
    # future=True: the 2.0 calling style on 1.4 as well
    engine = create_engine(url, future=True, pool_pre_ping=True) if major < 2 else create_engine(url, pool_pre_ping=True)
    out = {'sqlalchemy': sqlalchemy.__version__, 'pandas': pandas.__version__, 'driver': driver}

    step('connect + inspect')
    insp = inspect(engine)
    tables = insp.get_table_names()
    out['tables'] = sorted(tables)
    out['views'] = sorted(insp.get_view_names())
    reflected = {}
    for t in tables:
        step(f'reflect {t}')
        cols = insp.get_columns(t)
        pk = insp.get_pk_constraint(t)
        fks = insp.get_foreign_keys(t)
        reflected[t] = {
            'columns': [[c['name'], c['type'].compile(dialect=engine.dialect), bool(c['nullable'])] for c in cols],
            'primary_key': list(pk.get('constrained_columns') or []),
            'foreign_keys': sorted(
                [[list(fk['constrained_columns']), fk['referred_table'], list(fk['referred_columns'])] for fk in fks]
            ),
            'comment': insp.get_table_comment(t).get('text'),
        }
    out['reflected'] = reflected

    step('read_sql')
    # pandas.read_sql of a join with GROUP BY, as a notebook asks it
    with engine.connect() as conn:
        frame = pandas.read_sql(
            text(
                'SELECT c.owner_id, count(o.id) AS orders, sum(o.total) AS revenue '
                'FROM contacts c JOIN orders o ON o.contact_id = c.id '
                'WHERE c.owner_id IS NOT NULL GROUP BY c.owner_id ORDER BY c.owner_id'
            ),
            conn,
        )
    out['read_sql'] = {
        'columns': list(frame.columns),
        'dtypes': [str(d) for d in frame.dtypes],
        'rows': [[int(r.owner_id), int(r.orders), round(float(r.revenue) * 100)] for r in frame.itertuples()],
    }

    step('server-side cursor')
    # a server-side cursor: stream_results makes psycopg2 DECLARE a named cursor and psycopg 3 a server cursor
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, max_row_buffer=100).execute(
            text('SELECT id, email FROM contacts WHERE id > :after ORDER BY id'), {'after': 0}
        )
        ids, batches = [], 0
        while True:
            chunk = result.fetchmany(100)
            if not chunk:
                break
            batches += 1
            ids.extend(int(r.id) for r in chunk)
        result.close()
        # the connection is still usable after the cursor, inside its transaction
        after = conn.execute(text('SELECT count(*) FROM contacts')).scalar_one()
    out['server_cursor'] = {'count': len(ids), 'batches': batches, 'first': ids[:3], 'last': ids[-3:], 'ascending': ids == sorted(ids), 'count_after': int(after)}

    engine.dispose()
    print(json.dumps(out))
    return 0


if __name__ == '__main__':
    sys.exit(main())
