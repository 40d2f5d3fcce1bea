// DynamoDB Local on 127.0.0.1 only. Its own command line (`-jar DynamoDBLocal.jar`) has no host
// or bind option and listens on every interface; this launcher builds the same server through
// its embedding API (ServerRunner.createServerFromCommandLineArgs, the same arguments:
// -inMemory -sharedDb -disableTelemetry -port N) and binds its Jetty connector to loopback
// before starting it. It fails rather than start when it finds no connector to bind.
// Compiled by scripts/install-tools.sh against the installed jar; started by scripts/lib.sh.

import java.lang.reflect.Field;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import software.amazon.dynamodb.services.local.main.ServerRunner;
import software.amazon.dynamodb.services.local.server.DynamoDBProxyServer;

public final class LoopbackDynamoDBLocal {
    public static void main(String[] args) throws Exception {
        DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
        Field field = DynamoDBProxyServer.class.getDeclaredField("server");
        field.setAccessible(true);
        Server server = (Server) field.get(proxy);
        int bound = 0;
        for (Connector connector : server.getConnectors()) {
            if (connector instanceof ServerConnector serverConnector) {
                serverConnector.setHost("127.0.0.1");
                bound++;
            }
        }
        if (bound == 0) {
            throw new IllegalStateException("DynamoDB Local has no connector to bind to 127.0.0.1");
        }
        proxy.start();
        proxy.join();
    }
}
