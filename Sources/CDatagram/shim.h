// recvmmsg(2), which glibc declares only under _GNU_SOURCE (Swift's Glibc module is built
// without it), for the StatsD receiver. Named apart from glibc's own declaration, bound to
// the same symbol, so the two never conflict.
#include <sys/socket.h>
#include <time.h>

struct cdatagram_mmsghdr {
    struct msghdr msg_hdr;
    unsigned int msg_len;
};

#define CDATAGRAM_MSG_WAITFORONE 0x10000

int cdatagram_recvmmsg(int sockfd, struct cdatagram_mmsghdr *msgvec, unsigned int vlen, int flags,
                       struct timespec *timeout) __asm__("recvmmsg");
