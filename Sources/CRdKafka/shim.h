// librdkafka (Debian's librdkafka-dev): the Kafka client Firestream uses to run on a cluster.
#include <librdkafka/rdkafka.h>
