// pgjdbc against keapgres, as DBeaver and Metabase use it. Run with the single-file source launcher:
//   java -cp /usr/share/java/postgresql.jar test/java/JdbcChecks.java <port> [database] [user] [cross-session]
//   … JdbcChecks.java <port> <database,database,…> <user> dbeaver   DBeaver's default settings, per database
//   … JdbcChecks.java <port> <database> <user> metadata <table,table,…>   getTables/getColumns/getImportedKeys of those tables
// With "cross-session" only the checks of sessions that see each other run (DBeaver's Session Manager,
// LISTEN/NOTIFY); their values hold nothing that differs between servers (pids are compared, not
// printed), so test/cross-session.test.ts runs them against keapgres and a real PostgreSQL and compares.
// Prints one JSON object per line: {"check": name, "value": …} or {"check": name, "error": "SQLSTATE: message"}.
// test/pgjdbc.test.ts asserts on the values; this program only observes.
import java.sql.*;
import java.util.*;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.postgresql.PGStatement;
import org.postgresql.PGResultSetMetaData;

public class JdbcChecks {
  interface Check { Object run() throws Exception; }

  static String url;
  static String user;

  public static void main(String[] args) throws Exception {
    int port = Integer.parseInt(args[0]);
    String database = args.length > 1 ? args[1] : "keap";
    user = args.length > 2 ? args[2] : "tester";
    url = "jdbc:postgresql://127.0.0.1:" + port + "/" + database;
    if (args.length > 3 && args[3].equals("cross-session")) {
      report("sessionManager", JdbcChecks::sessionManager);
      report("terminateFromSessionManager", JdbcChecks::terminate);
      report("notifications", JdbcChecks::notifications);
      return;
    }
    if (args.length > 3 && args[3].equals("explain")) {
      report("explain", () -> {
        Map<String, Object> out = new LinkedHashMap<>();
        try (Connection c = connect(new Properties()); PreparedStatement ps = c.prepareStatement("EXPLAIN SELECT * FROM contacts WHERE email = ?")) {
          ps.setString(1, "ann@example.com");
          try (ResultSet rs = ps.executeQuery()) {
            out.put("column", rs.getMetaData().getColumnLabel(1));
            List<String> lines = new ArrayList<>();
            while (rs.next()) lines.add(rs.getString(1));
            out.put("lines", lines);
          }
        }
        return out;
      });
      return;
    }
    // DBeaver's navigator on some tables (args[4]: comma-separated names): getTables, getColumns, getImportedKeys
    if (args.length > 4 && args[3].equals("metadata")) {
      try (Connection c = connect(new Properties())) {
        DatabaseMetaData md = c.getMetaData();
        for (String t : args[4].split(",")) {
          report("getTables " + t, () -> rows(md.getTables(null, "public", t, new String[] { "TABLE" }), "TABLE_NAME", "REMARKS"));
          report("getColumns " + t, () -> rows(md.getColumns(null, "public", t, "%"), "COLUMN_NAME", "TYPE_NAME", "DATA_TYPE", "NULLABLE", "REMARKS", "ORDINAL_POSITION"));
          report("getImportedKeys " + t, () -> rows(md.getImportedKeys(null, "public", t), "PKTABLE_NAME", "PKCOLUMN_NAME", "FKTABLE_NAME", "FKCOLUMN_NAME", "FK_NAME"));
        }
      }
      return;
    }
    if (args.length > 3 && args[3].equals("timeouts")) {
      report("statementTimeout", JdbcChecks::statementTimeout);
      return;
    }
    if (args.length > 3 && args[3].equals("dbeaver")) {
      for (String name : database.split(",")) {
        url = "jdbc:postgresql://127.0.0.1:" + port + "/" + name;
        report("dbeaver " + name, () -> dbeaverDefaults(name));
      }
      return;
    }
    try (Connection c = connect(new Properties())) {
      DatabaseMetaData md = c.getMetaData();
      report("connect", () -> Arrays.asList(md.getDatabaseProductName(), md.getDatabaseProductVersion(), md.getDriverVersion()));
      report("getTables", () -> rows(md.getTables(null, "public", "%", new String[] { "TABLE" }), "TABLE_NAME", "REMARKS"));
      report("getColumns", () -> rows(md.getColumns(null, "public", "contacts", "%"), "COLUMN_NAME", "TYPE_NAME", "DATA_TYPE", "NULLABLE", "REMARKS", "ORDINAL_POSITION"));
      report("getPrimaryKeys", () -> rows(md.getPrimaryKeys(null, "public", "contact_tags"), "COLUMN_NAME", "KEY_SEQ", "PK_NAME"));
      report("getImportedKeys", () -> rows(md.getImportedKeys(null, "public", "contact_tags"), "PKTABLE_NAME", "PKCOLUMN_NAME", "FKTABLE_NAME", "FKCOLUMN_NAME", "FK_NAME"));
      report("getExportedKeys", () -> rows(md.getExportedKeys(null, "public", "tags"), "PKTABLE_NAME", "PKCOLUMN_NAME", "FKTABLE_NAME", "FKCOLUMN_NAME"));
      // tables and views added for issue 13, as DBeaver's navigator reads them
      report("getColumns affiliate_commissions", () -> rows(md.getColumns(null, "public", "affiliate_commissions", "%"), "COLUMN_NAME", "TYPE_NAME", "DATA_TYPE", "NULLABLE", "REMARKS", "ORDINAL_POSITION"));
      report("getImportedKeys contact_links", () -> rows(md.getImportedKeys(null, "public", "contact_links"), "PKTABLE_NAME", "PKCOLUMN_NAME", "FKTABLE_NAME", "FKCOLUMN_NAME", "FK_NAME"));
      report("getViews", () -> rows(md.getTables(null, "public", "%", new String[] { "VIEW" }), "TABLE_NAME", "REMARKS"));
      report("getColumns contacts_model", () -> rows(md.getColumns(null, "public", "contacts_model", "%"), "COLUMN_NAME", "TYPE_NAME", "DATA_TYPE", "NULLABLE", "REMARKS", "ORDINAL_POSITION"));
      report("preparedTenTimes", () -> preparedTenTimes(c));
      report("fetchSizeCursor", () -> fetchSizeCursor(c));
      report("resultSetMetaData", () -> metaData(c, "SELECT id, given_name, custom_visits, create_time FROM contacts ORDER BY id LIMIT 1"));
      report("joinMetaData", () -> metaData(c, "SELECT c.id AS contact_id, c.email, t.name AS tag_name, ct.applied_time, 1 AS constant "
          + "FROM contacts c JOIN contact_tags ct ON ct.contact_id = c.id JOIN tags t ON t.id = ct.tag_id ORDER BY c.id, t.id LIMIT 5"));
    }
    report("statementCancel", JdbcChecks::statementCancel);
    report("queryTimeout", JdbcChecks::queryTimeout);
    report("readOnlyTransaction", JdbcChecks::readOnlyTransaction);
    report("readOnlyTransactionSecondTable", JdbcChecks::readOnlyTransactionSecondTable);
    report("metabaseCursorsClosedEarly", JdbcChecks::metabaseCursorsClosedEarly);
    report("applicationName", () -> {
      Properties p = new Properties();
      p.setProperty("ApplicationName", "keapgres jdbc check");
      try (Connection c = connect(p); Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT current_setting('application_name')")) {
        rs.next();
        return rs.getString(1);
      }
    });
  }

  /**
   * What DBeaver 24 does with its default settings ("Show all databases" off) when it connects to a
   * database and the user opens its public schema and the contacts table: its two connections, its
   * readDatabaseInfo, schema and table caches, database statistics and Data tab, as in
   * test/corpus/dbeaver.sql. Also the list DBeaver shows with "Show all databases" on.
   */
  static Object dbeaverDefaults(String database) throws SQLException {
    Map<String, Object> out = new LinkedHashMap<>();
    try (Connection main = connect(new Properties()); Connection meta = connect(new Properties())) {
      main.setClientInfo("ApplicationName", "DBeaver 24.2.3 - Main <" + database + ">");
      meta.setClientInfo("ApplicationName", "DBeaver 24.2.3 - Metadata <" + database + ">");
      try (Statement s = meta.createStatement()) {
        out.put("version", scalar(s, "SELECT version()"));
        out.put("currentDatabase", scalar(s, "SELECT current_database()"));
      }
      long databaseOid = -1;
      List<Object> info = new ArrayList<>();
      try (PreparedStatement ps = meta.prepareStatement("SELECT db.oid,db.* FROM pg_catalog.pg_database db WHERE datname=?")) {
        ps.setString(1, database);
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            databaseOid = rs.getLong("oid");
            info.add(rs.getString("datname"));
          }
        }
      }
      out.put("databaseInfo", info);
      try (PreparedStatement ps = meta.prepareStatement("SELECT db.datname,pg_database_size(db.oid) FROM pg_catalog.pg_database db WHERE db.oid=?")) {
        ps.setLong(1, databaseOid);
        try (ResultSet rs = ps.executeQuery()) {
          out.put("databaseSized", rs.next() && rs.getLong(2) > 0);
        }
      }
      try (PreparedStatement ps = meta.prepareStatement("select description from pg_shdescription join pg_database on objoid = pg_database.oid where datname = ?")) {
        ps.setString(1, database);
        try (ResultSet rs = ps.executeQuery()) {
          out.put("description", rs.next() ? rs.getString(1) : null);
        }
      }
      long publicOid = -1;
      try (Statement s = meta.createStatement(); ResultSet rs = s.executeQuery("SELECT n.oid,n.*,d.description FROM pg_catalog.pg_namespace n\n"
          + "LEFT OUTER JOIN pg_catalog.pg_description d ON d.objoid=n.oid AND d.objsubid=0 AND d.classoid='pg_namespace'::regclass\n ORDER BY nspname")) {
        while (rs.next()) if (rs.getString("nspname").equals("public")) publicOid = rs.getLong("oid");
      }
      List<Object> tables = new ArrayList<>();
      try (PreparedStatement ps = meta.prepareStatement("SELECT c.oid,c.*,d.description,pg_catalog.pg_get_expr(c.relpartbound, c.oid) as partition_expr,  pg_catalog.pg_get_partkeydef(c.oid) as partition_key \n"
          + "FROM pg_catalog.pg_class c\nLEFT OUTER JOIN pg_catalog.pg_description d ON d.objoid=c.oid AND d.objsubid=0 AND d.classoid='pg_class'::regclass\n"
          + "WHERE c.relnamespace=? AND c.relkind not in ('i','I','c')")) {
        ps.setLong(1, publicOid);
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) if (rs.getString("relkind").equals("r")) tables.add(rs.getString("relname"));
        }
      }
      Collections.sort(tables, Comparator.comparing(Object::toString));
      out.put("tables", tables);
      if (tables.contains("contacts")) {
        try (Statement s = main.createStatement()) {
          s.setMaxRows(200);
          s.setFetchSize(200);
          int n = 0;
          try (ResultSet rs = s.executeQuery("SELECT * FROM public.contacts")) {
            while (rs.next()) n++;
          }
          out.put("dataTabRows", n);
        }
        try (Statement s = main.createStatement()) {
          out.put("rowCount", scalar(s, "SELECT COUNT(*) FROM public.contacts"));
        }
      }
      List<Object> all = new ArrayList<>();
      try (PreparedStatement ps = meta.prepareStatement("SELECT db.oid,db.* FROM pg_catalog.pg_database db WHERE datallowconn AND NOT datistemplate OR db.datname = ? ORDER BY db.datname")) {
        ps.setString(1, database);
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) all.add(rs.getString("datname"));
        }
      }
      out.put("allDatabases", all);
    }
    return out;
  }

  static Connection connect(Properties extra) throws SQLException {
    Properties p = new Properties();
    p.setProperty("user", user);
    p.setProperty("connectTimeout", "20");
    p.setProperty("socketTimeout", "60");
    p.putAll(extra);
    return DriverManager.getConnection(url, p);
  }

  /** A statement pgjdbc switches to a named server-side statement with binary results after prepareThreshold (5) runs. */
  static Object preparedTenTimes(Connection c) throws SQLException {
    List<Object> runs = new ArrayList<>();
    boolean serverPrepared;
    try (PreparedStatement ps = c.prepareStatement("SELECT id, given_name, custom_visits, create_time FROM contacts WHERE id = ?")) {
      for (long id = 1; id <= 10; id++) {
        ps.setLong(1, id);
        try (ResultSet rs = ps.executeQuery()) {
          rs.next();
          runs.add(Arrays.asList(rs.getLong(1), str(rs.getString(2)), str(rs.getObject(3)), str(rs.getTimestamp(4) == null ? null : rs.getTimestamp(4).toInstant().toString())));
          if (rs.next()) throw new SQLException("more than one row for id " + id);
        }
      }
      serverPrepared = ps.unwrap(PGStatement.class).isUseServerPrepare();
      List<Object> statements = new ArrayList<>();
      try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT name, statement FROM pg_prepared_statements WHERE statement LIKE '%FROM contacts WHERE id = $1%'")) {
        while (rs.next()) statements.add(Arrays.asList(rs.getString(1), rs.getString(2)));
      }
      Map<String, Object> out = new LinkedHashMap<>();
      out.put("rows", runs);
      out.put("serverPrepared", serverPrepared);
      out.put("namedStatements", statements);
      return out;
    }
  }

  static Object fetchSizeCursor(Connection c) throws SQLException {
    c.setAutoCommit(false);
    try (Statement s = c.createStatement()) {
      s.setFetchSize(100);
      long count = 0, first = -1, last = -1, sum = 0;
      boolean ordered = true;
      try (ResultSet rs = s.executeQuery("SELECT id, email FROM contacts ORDER BY id")) {
        while (rs.next()) {
          long id = rs.getLong(1);
          if (first < 0) first = id;
          if (id <= last) ordered = false;
          last = id;
          sum += id;
          count++;
        }
      }
      c.commit();
      return Map.of("count", count, "first", first, "last", last, "sum", sum, "ordered", ordered);
    } finally {
      c.setAutoCommit(true);
    }
  }

  static Object metaData(Connection c, String sql) throws SQLException {
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
      ResultSetMetaData m = rs.getMetaData();
      PGResultSetMetaData pm = m.unwrap(PGResultSetMetaData.class);
      List<Object> cols = new ArrayList<>();
      for (int i = 1; i <= m.getColumnCount(); i++) {
        cols.add(Arrays.asList(m.getColumnLabel(i), pm.getBaseColumnName(i), m.getTableName(i), pm.getBaseTableName(i), pm.getBaseSchemaName(i), m.getColumnTypeName(i), m.isNullable(i)));
      }
      int rows = 0;
      while (rs.next()) rows++;
      return Map.of("columns", cols, "rows", rows);
    }
  }

  /** DBeaver's "cancel query": Statement.cancel() from another thread sends a CancelRequest. */
  static Object statementCancel() throws Exception {
    try (Connection c = connect(new Properties()); Statement s = c.createStatement()) {
      Thread canceller = new Thread(() -> {
        try {
          Thread.sleep(500);
          s.cancel();
        } catch (Exception e) {
          // the query then runs its 30 s and the check reports that
        }
      });
      long started = System.nanoTime();
      canceller.start();
      String outcome;
      try {
        s.execute("SELECT pg_sleep(30)");
        outcome = "not cancelled";
      } catch (SQLException e) {
        outcome = e.getSQLState();
      }
      long ms = (System.nanoTime() - started) / 1_000_000;
      canceller.join();
      Map<String, Object> out = new LinkedHashMap<>();
      out.put("outcome", outcome);
      out.put("ms", ms);
      out.put("after", attempt(() -> scalar(s, "SELECT 'still here'")));
      return out;
    }
  }

  /** Metabase's and DBeaver's query timeouts: pgjdbc cancels the statement when setQueryTimeout expires. */
  static Object queryTimeout() throws Exception {
    try (Connection c = connect(new Properties()); Statement s = c.createStatement()) {
      s.setQueryTimeout(1);
      long started = System.nanoTime();
      String outcome;
      try {
        s.execute("SELECT pg_sleep(30)");
        outcome = "no timeout";
      } catch (SQLException e) {
        outcome = e.getSQLState();
      }
      long ms = (System.nanoTime() - started) / 1_000_000;
      Map<String, Object> out = new LinkedHashMap<>();
      out.put("outcome", outcome);
      out.put("ms", ms);
      s.setQueryTimeout(0);
      out.put("after", attempt(() -> scalar(s, "SELECT count(*) FROM tags")));
      return out;
    }
  }

  /** Metabase: readOnly with autocommit off makes pgjdbc send BEGIN READ ONLY before the first query. */
  static Object readOnlyTransaction() throws Exception {
    try (Connection c = connect(new Properties())) {
      c.setAutoCommit(false);
      c.setReadOnly(true);
      Map<String, Object> out = new LinkedHashMap<>();
      try (Statement s = c.createStatement()) {
        out.put("contacts", attempt(() -> scalar(s, "SELECT count(*) FROM contacts")));
        out.put("readOnly", attempt(() -> scalar(s, "SELECT current_setting('transaction_read_only')")));
        out.put("write", attempt(() -> s.execute("CREATE TABLE not_allowed (a int)")));
      }
      c.rollback();
      return out;
    }
  }

  /** A later query of the same read-only transaction that needs another Keap table. */
  static Object readOnlyTransactionSecondTable() throws Exception {
    try (Connection c = connect(new Properties())) {
      c.setAutoCommit(false);
      c.setReadOnly(true);
      Map<String, Object> out = new LinkedHashMap<>();
      try (Statement s = c.createStatement()) {
        out.put("contacts", attempt(() -> scalar(s, "SELECT count(*) FROM contacts")));
        out.put("tags", attempt(() -> scalar(s, "SELECT count(*) FROM tags")));
      }
      c.rollback();
      return out;
    }
  }

  /**
   * Metabase runs each query in its own read-only transaction with a fetch size, reads what it shows,
   * and closes the statement early (pgjdbc then closes the named portal).
   */
  static Object metabaseCursorsClosedEarly() throws Exception {
    Properties p = new Properties();
    p.setProperty("ApplicationName", "Metabase v0.50");
    try (Connection c = connect(p)) {
      c.setAutoCommit(false);
      c.setReadOnly(true);
      List<Object> out = new ArrayList<>();
      for (int round = 0; round < 3; round++) {
        final int r = round;
        out.add(attempt(() -> {
          try (PreparedStatement ps = c.prepareStatement("SELECT id, email FROM contacts WHERE id > ? ORDER BY id")) {
            ps.setFetchSize(50);
            ps.setMaxRows(2000);
            ps.setLong(1, r * 10);
            int read = 0;
            long firstId = -1;
            List<Object> portalsWhileOpen;
            try (ResultSet rs = ps.executeQuery()) {
              while (read < 120 && rs.next()) {
                if (firstId < 0) firstId = rs.getLong(1);
                read++;
              }
              portalsWhileOpen = portals(c);
            }
            ps.close();
            return Arrays.asList(read, firstId, portalsWhileOpen, portals(c));
          } finally {
            c.commit();
          }
        }));
      }
      return out;
    }
  }

  /** Named portals open on the connection (the unnamed one running this query excluded). */
  static List<Object> portals(Connection c) throws SQLException {
    List<Object> names = new ArrayList<>();
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT name FROM pg_cursors WHERE name <> '' ORDER BY name")) {
      while (rs.next()) names.add(rs.getString(1));
    }
    return names;
  }

  /** A step's value, or "ERROR <SQLSTATE>" when it failed (the rest of the check goes on). */
  static Object attempt(Check step) throws Exception {
    try {
      return step.run();
    } catch (SQLException e) {
      return "ERROR " + e.getSQLState();
    }
  }

  static Object scalar(Statement s, String sql) throws SQLException {
    try (ResultSet rs = s.executeQuery(sql)) {
      rs.next();
      return str(rs.getObject(1));
    }
  }

  static List<Object> rows(ResultSet rs, String... columns) throws SQLException {
    List<Object> out = new ArrayList<>();
    try (rs) {
      while (rs.next()) {
        List<Object> row = new ArrayList<>();
        for (String col : columns) row.add(str(rs.getObject(col)));
        out.add(row);
      }
    }
    return out;
  }

  static Connection connectAs(String applicationName) throws SQLException {
    Properties p = new Properties();
    p.setProperty("ApplicationName", applicationName);
    return connect(p);
  }

  static int backendPid(Connection c) throws SQLException {
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT pg_backend_pid()")) {
      rs.next();
      return rs.getInt(1);
    }
  }

  /** DBeaver's PostgreSessionManager.getSessions: SELECT sa.* and the columns PostgreSession reads. */
  static Object sessionManager() throws SQLException {
    try (Connection dbeaver = connectAs("DBeaver 24.2.3 - Main <db>"); Connection other = connectAs("other application")) {
      int otherPid = backendPid(other);
      Map<String, Object> out = new LinkedHashMap<>();
      out.put("pidIsBackendKeyPid", otherPid == ((PGConnection) other).getBackendPID());
      out.put("pidsDiffer", otherPid != backendPid(dbeaver));
      try (Statement s = other.createStatement()) {
        s.execute("SELECT 'the last statement of the other session'");
      }
      try (PreparedStatement ps = dbeaver.prepareStatement("SELECT sa.* FROM pg_catalog.pg_stat_activity sa"); ResultSet rs = ps.executeQuery()) {
        ResultSetMetaData md = rs.getMetaData();
        List<String> columns = new ArrayList<>();
        for (int i = 1; i <= md.getColumnCount(); i++) columns.add(md.getColumnLabel(i) + " " + md.getColumnTypeName(i));
        out.put("columns", columns);
        int sessions = 0;
        while (rs.next()) {
          if (!"client backend".equals(rs.getString("backend_type"))) continue;
          sessions++;
          if (rs.getInt("pid") != otherPid) continue;
          Map<String, Object> row = new LinkedHashMap<>();
          row.put("usename_is_user", user.equals(rs.getString("usename")));
          row.put("client_hostname", rs.getString("client_hostname"));
          row.put("client_addr", rs.getString("client_addr"));
          row.put("client_port_positive", rs.getInt("client_port") > 0);
          row.put("datname_is_database", url.endsWith("/" + rs.getString("datname")));
          row.put("query", rs.getString("query"));
          row.put("backend_start_set", rs.getTimestamp("backend_start") != null);
          row.put("xact_start", rs.getTimestamp("xact_start"));
          row.put("query_start_after_backend_start", !rs.getTimestamp("query_start").before(rs.getTimestamp("backend_start")));
          row.put("state_change_set", rs.getTimestamp("state_change") != null);
          row.put("state", rs.getString("state"));
          row.put("application_name", rs.getString("application_name"));
          row.put("wait_event", rs.getString("wait_event_type") + "/" + rs.getString("wait_event"));
          out.put("other", row);
        }
        out.put("clientBackends", sessions);
      }
      return out;
    }
  }

  /** DBeaver's "Terminate session": SELECT pg_catalog.pg_terminate_backend(pid) on a plain Statement. */
  static Object terminate() throws Exception {
    try (Connection dbeaver = connectAs("DBeaver 24.2.3 - Main <db>"); Connection victim = connectAs("victim")) {
      int pid = backendPid(victim);
      Map<String, Object> out = new LinkedHashMap<>();
      try (Statement s = dbeaver.createStatement()) {
        out.put("executed", s.execute("SELECT pg_catalog.pg_terminate_backend(" + pid + ")"));
        try (ResultSet rs = s.getResultSet()) {
          rs.next();
          out.put("result", rs.getBoolean(1));
        }
      }
      try (Statement s = victim.createStatement()) {
        s.execute("SELECT 1");
        out.put("victim", "still connected");
      } catch (SQLException e) {
        out.put("victim", e.getSQLState() + ": " + e.getMessage().split("\n")[0]);
      }
      out.put("victimClosed", victim.isClosed() || !victim.isValid(5));
      // the terminated session is gone from pg_stat_activity (PostgreSQL needs a moment to remove it)
      boolean gone = false;
      for (int i = 0; i < 100 && !gone; i++) {
        try (PreparedStatement ps = dbeaver.prepareStatement("SELECT count(*) FROM pg_stat_activity WHERE pid = ?")) {
          ps.setInt(1, pid);
          try (ResultSet rs = ps.executeQuery()) {
            rs.next();
            gone = rs.getInt(1) == 0;
          }
        }
        if (!gone) Thread.sleep(50);
      }
      out.put("gone", gone);
      return out;
    }
  }

  /** LISTEN on one connection, NOTIFY from another; getNotifications after a query, and waiting for one. */
  static Object notifications() throws Exception {
    try (Connection listener = connectAs("listener"); Connection sender = connectAs("sender")) {
      int senderPid = backendPid(sender);
      PGConnection pg = listener.unwrap(PGConnection.class);
      try (Statement s = listener.createStatement()) {
        s.execute("LISTEN jdbc_channel");
      }
      try (Statement s = sender.createStatement()) {
        s.execute("NOTIFY jdbc_channel, 'first'");
        sender.setAutoCommit(false);
        s.execute("NOTIFY jdbc_channel, 'rolled back'");
        sender.rollback();
        s.execute("SELECT pg_notify('jdbc_channel', 'second')");
        s.execute("NOTIFY jdbc_channel, 'second'");
        s.execute("NOTIFY jdbc_channel, 'third'");
        sender.commit();
        sender.setAutoCommit(true);
      }
      List<Object> seen = new ArrayList<>();
      // a notification may still be on its way when the sender's commit returns: wait for the three
      for (int i = 0; i < 100 && seen.size() < 3; i++) {
        try (Statement s = listener.createStatement()) {
          s.execute("SELECT 1");
        }
        PGNotification[] got = pg.getNotifications();
        if (got != null) for (PGNotification n : got) seen.add(Arrays.asList(n.getName(), n.getParameter(), n.getPID() == senderPid));
        if (seen.size() < 3) Thread.sleep(50);
      }
      Map<String, Object> out = new LinkedHashMap<>();
      out.put("afterQuery", seen);
      try (Statement s = sender.createStatement()) {
        s.execute("NOTIFY jdbc_channel, 'while waiting'");
      }
      PGNotification[] waited = pg.getNotifications(20_000);
      List<Object> w = new ArrayList<>();
      if (waited != null) for (PGNotification n : waited) w.add(Arrays.asList(n.getName(), n.getParameter(), n.getPID() == senderPid));
      out.put("waited", w);
      return out;
    }
  }

  /** SET statement_timeout, then a statement past it: the SQLState and message, and the connection after it. */
  static Object statementTimeout() throws SQLException {
    Map<String, Object> out = new LinkedHashMap<>();
    try (Connection c = connect(new Properties()); Statement s = c.createStatement()) {
      s.execute("CREATE TEMP TABLE jdbc_kept (x int)");
      s.execute("INSERT INTO jdbc_kept VALUES (1), (2)");
      s.execute("SET statement_timeout = 400");
      long started = System.nanoTime();
      try (PreparedStatement ps = c.prepareStatement("SELECT pg_sleep(?)")) {
        ps.setInt(1, 5);
        ps.executeQuery();
        out.put("error", null);
      } catch (SQLException e) {
        out.put("error", e.getSQLState() + ": " + e.getMessage());
      }
      out.put("endedWithin3s", (System.nanoTime() - started) / 1_000_000 < 3000);
      try (ResultSet rs = s.executeQuery("SELECT count(*) FROM jdbc_kept")) {
        rs.next();
        out.put("tempRowsAfter", rs.getInt(1));
      }
      try (ResultSet rs = s.executeQuery("SHOW statement_timeout")) {
        rs.next();
        out.put("setting", rs.getString(1));
      }
    }
    return out;
  }

  static String str(Object o) {
    return o == null ? null : o.toString();
  }

  static void report(String name, Check check) {
    String line;
    try {
      line = "{\"check\":" + json(name) + ",\"value\":" + json(check.run()) + "}";
    } catch (SQLException e) {
      line = "{\"check\":" + json(name) + ",\"error\":" + json(e.getSQLState() + ": " + e.getMessage()) + "}";
    } catch (Exception e) {
      line = "{\"check\":" + json(name) + ",\"error\":" + json(e.toString()) + "}";
    }
    System.out.println(line);
    System.out.flush();
  }

  static String json(Object o) {
    if (o == null) return "null";
    if (o instanceof Boolean || o instanceof Integer || o instanceof Long) return o.toString();
    if (o instanceof Map<?, ?> m) {
      StringJoiner j = new StringJoiner(",", "{", "}");
      for (Map.Entry<?, ?> e : m.entrySet()) j.add(json(String.valueOf(e.getKey())) + ":" + json(e.getValue()));
      return j.toString();
    }
    if (o instanceof Collection<?> c) {
      StringJoiner j = new StringJoiner(",", "[", "]");
      for (Object x : c) j.add(json(x));
      return j.toString();
    }
    String s = o.toString();
    StringBuilder b = new StringBuilder("\"");
    for (char ch : s.toCharArray()) {
      switch (ch) {
        case '"' -> b.append("\\\"");
        case '\\' -> b.append("\\\\");
        case '\n' -> b.append("\\n");
        case '\r' -> b.append("\\r");
        case '\t' -> b.append("\\t");
        default -> {
          if (ch < 0x20) b.append(String.format("\\u%04x", (int) ch));
          else b.append(ch);
        }
      }
    }
    return b.append('"').toString();
  }
}
