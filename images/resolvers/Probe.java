import java.net.InetAddress;
import java.security.Security;

/**
 * The JVM's lookup as applications make it, InetAddress.getAllByName, in a loop, one JSON line
 * per lookup (the same contract as gai.c).
 *
 * usage: java -cp DIR Probe INTERVAL_MS DURATION_MS NAME...
 *
 * -Dprobe.cache.ttl=N sets the security property networkaddress.cache.ttl before the first
 * lookup, as an application's java.security would; without it the JVM's default applies (30 s
 * for successful lookups when no security manager is installed).
 */
public class Probe {
    public static void main(String[] args) throws Exception {
        if (args.length < 3) {
            System.err.println("usage: Probe INTERVAL_MS DURATION_MS NAME...");
            System.exit(2);
        }
        String ttl = System.getProperty("probe.cache.ttl");
        if (ttl != null) {
            Security.setProperty("networkaddress.cache.ttl", ttl);
        }
        long interval = Long.parseLong(args[0]), duration = Long.parseLong(args[1]);
        long start = System.nanoTime();
        while (true) {
            for (int i = 2; i < args.length; i++) {
                lookup(args[i]);
            }
            System.out.flush();
            if ((System.nanoTime() - start) / 1_000_000 + interval >= duration) {
                return;
            }
            Thread.sleep(interval);
        }
    }

    static void lookup(String name) {
        long at = System.currentTimeMillis(), t0 = System.nanoTime();
        StringBuilder addrs = new StringBuilder();
        String error = "";
        try {
            for (InetAddress a : InetAddress.getAllByName(name)) {
                addrs.append(addrs.length() == 0 ? "" : ",").append('"').append(a.getHostAddress()).append('"');
            }
        } catch (Exception e) {
            error = e.toString().replace("\\", "\\\\").replace("\"", "\\\"");
        }
        System.out.printf("{\"name\":\"%s\",\"at\":%d,\"ms\":%.1f,\"addrs\":[%s],\"error\":\"%s\"}%n",
                name, at, (System.nanoTime() - t0) / 1e6, addrs, error);
    }
}
