package io.sluice.job.kafka;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;

/**
 * Checks, before a load run, that a broker answers at the bootstrap address and has the topics the run uses: a
 * wrong address or a job not started is then one line, not a minute of client connection warnings and a timeout.
 */
public final class BrokerCheck {

    private BrokerCheck() {}

    /**
     * Throws {@link IllegalArgumentException} with what to fix when no bootstrap server accepts a connection within
     * {@code timeout}, or when one of {@code topics} does not exist.
     */
    public static void check(String bootstrap, Properties clientProperties, List<String> topics, Duration timeout)
            throws InterruptedException {
        check(bootstrap, clientProperties, topics, timeout, "is the job running there (`sluice run` on created "
                + "topics, or `sluice local --keep-running`), with the same --topics-prefix?");
    }

    /** As {@link #check(String, Properties, List, Duration)}, with what to do about missing topics. */
    public static void check(String bootstrap, Properties clientProperties, List<String> topics, Duration timeout,
            String missingTopicsHint) throws InterruptedException {
        // A plain TCP connect first: an admin client against a closed port logs a warning every retry.
        long end = System.nanoTime() + timeout.toNanos();
        while (!anyListening(bootstrap)) {
            if (System.nanoTime() > end) {
                throw new IllegalArgumentException("no Kafka broker answers at " + bootstrap + " (--bootstrap)");
            }
            Thread.sleep(250);
        }
        Properties props = new Properties();
        props.putAll(clientProperties);
        props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, (int) timeout.toMillis());
        props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) timeout.toMillis());
        try (Admin admin = Admin.create(props)) {
            Set<String> existing = admin.listTopics().names().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            List<String> missing = new ArrayList<>(topics);
            missing.removeAll(existing);
            if (!missing.isEmpty()) {
                throw new IllegalArgumentException("the broker at " + bootstrap + " has no topic " + missing
                        + ": " + missingTopicsHint);
            }
        } catch (ExecutionException | TimeoutException e) {
            String why = e instanceof ExecutionException ? e.getCause().getMessage() : "no answer in time";
            throw new IllegalArgumentException("the Kafka broker at " + bootstrap + " did not list its topics: "
                    + why + " (--bootstrap, --kafka-property)");
        }
    }

    /** Whether a TCP connection to any of the servers opens (within a second): a broker may be there. */
    static boolean anyListening(String bootstrap) {
        for (String server : bootstrap.split(",")) {
            String s = server.trim();
            int colon = s.lastIndexOf(':');
            if (colon < 0) {
                throw new IllegalArgumentException("--bootstrap '" + bootstrap + "' must be HOST:PORT[,HOST:PORT]");
            }
            int port;
            try {
                port = Integer.parseInt(s.substring(colon + 1));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("--bootstrap '" + bootstrap + "' must be HOST:PORT[,HOST:PORT]");
            }
            try (Socket socket = new Socket()) {
                socket.connect(new InetSocketAddress(s.substring(0, colon), port), 1000);
                return true;
            } catch (IOException e) {
                // Not this one; try the next.
            }
        }
        return false;
    }
}
