/*
 * The local cluster's pod network: an LD_PRELOAD library the node agent puts into every container process.
 *
 * The node agent runs containers as host processes, so they share the host's network stack. This library gives each
 * pod what a network namespace would: its own address and name. It reads three variables the node agent sets:
 *   K8STRAINING_PODNET_ADDRESS   the pod's IPv4 address (127.x.y.z: all of 127.0.0.0/8 is loopback)
 *   K8STRAINING_PODNET_HOSTNAME  the pod's hostname (spec.hostname, else the pod name)
 *   K8STRAINING_PODNET_HOSTS     the pod's hosts file (its own name, and the headless Services' pods, as cluster DNS)
 * and then:
 *   - bind() to INADDR_ANY, or to in6addr_any / ::ffff:0.0.0.0 on a socket that is not IPV6_V6ONLY, binds the pod
 *     address instead (v4-mapped on an IPv6 socket), so that two pods' servers on one port do not collide;
 *   - connect() to 127.0.0.1 or ::1 reaches the pod's own server on that port when there is one listening on the pod
 *     address (a pod's localhost is the pod), and the host's otherwise (the API server, s3rver);
 *   - gethostname() and uname()'s nodename answer the pod's hostname;
 *   - getaddrinfo(), gethostbyname(), gethostbyname2() and gethostbyname_r() look a name up in the hosts file first,
 *     then ask the real resolver.
 * Without K8STRAINING_PODNET_ADDRESS every call is passed through unchanged.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

#define ENV_ADDRESS "K8STRAINING_PODNET_ADDRESS"
#define ENV_HOSTNAME "K8STRAINING_PODNET_HOSTNAME"
#define ENV_HOSTS "K8STRAINING_PODNET_HOSTS"

static void *next(const char *name)
{
    void *f = dlsym(RTLD_NEXT, name);
    if (f == NULL) {
        fprintf(stderr, "podnet: %s not found: %s\n", name, dlerror());
        abort();
    }
    return f;
}

/* The pod address, or 0 (network byte order) when the library is not configured. */
static in_addr_t pod_address(void)
{
    const char *text = getenv(ENV_ADDRESS);
    struct in_addr address;
    if (text == NULL || inet_pton(AF_INET, text, &address) != 1) {
        return 0;
    }
    return address.s_addr;
}

static int is_mapped_v4(const struct in6_addr *a, in_addr_t v4)
{
    static const unsigned char prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return memcmp(a->s6_addr, prefix, 12) == 0 && memcmp(a->s6_addr + 12, &v4, 4) == 0;
}

static void set_mapped_v4(struct in6_addr *a, in_addr_t v4)
{
    memset(a->s6_addr, 0, 10);
    a->s6_addr[10] = 0xff;
    a->s6_addr[11] = 0xff;
    memcpy(a->s6_addr + 12, &v4, 4);
}

int bind(int fd, const struct sockaddr *addr, socklen_t len)
{
    static int (*real)(int, const struct sockaddr *, socklen_t);
    if (real == NULL) {
        real = next("bind");
    }
    in_addr_t pod = pod_address();
    if (pod == 0 || addr == NULL) {
        return real(fd, addr, len);
    }
    if (addr->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
        struct sockaddr_in copy;
        memcpy(&copy, addr, sizeof copy);
        if (copy.sin_addr.s_addr == htonl(INADDR_ANY)) {
            copy.sin_addr.s_addr = pod;
            return real(fd, (struct sockaddr *)&copy, sizeof copy);
        }
    } else if (addr->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
        struct sockaddr_in6 copy;
        memcpy(&copy, addr, sizeof copy);
        int v6only = 0;
        socklen_t size = sizeof v6only;
        if ((IN6_IS_ADDR_UNSPECIFIED(&copy.sin6_addr) || is_mapped_v4(&copy.sin6_addr, htonl(INADDR_ANY)))
            && getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &size) == 0 && !v6only) {
            /* A dual-stack socket on [::] (.NET's HttpListener "http://+:port", Python's http.server) takes the pod
             * address; an IPv6-only one has no pod address to take and binds as asked. */
            set_mapped_v4(&copy.sin6_addr, pod);
            copy.sin6_scope_id = 0;
            return real(fd, (struct sockaddr *)&copy, sizeof copy);
        }
    }
    return real(fd, addr, len);
}

/* Whether a TCP socket listens on the pod address (or its v4-mapped form) at this port (host byte order). */
static int pod_listens(in_addr_t pod, unsigned port)
{
    char wanted4[32], wanted6[64], line[512];
    /* /proc/net/tcp prints an IPv4 address as the 32-bit value in host order; tcp6 as four such words. */
    snprintf(wanted4, sizeof wanted4, "%08X:%04X", (unsigned)pod, port);
    snprintf(wanted6, sizeof wanted6, "0000000000000000FFFF0000%08X:%04X", (unsigned)pod, port);
    const char *files[2] = {"/proc/net/tcp", "/proc/net/tcp6"};
    const char *wanted[2] = {wanted4, wanted6};
    for (int i = 0; i < 2; i++) {
        FILE *f = fopen(files[i], "re");
        if (f == NULL) {
            continue;
        }
        int found = 0;
        while (!found && fgets(line, sizeof line, f) != NULL) {
            char local[80], remote[80], state[8];
            if (sscanf(line, " %*[^:]: %79s %79s %7s", local, remote, state) == 3 && strcmp(state, "0A") == 0
                && strcasecmp(local, wanted[i]) == 0) {
                found = 1;
            }
        }
        fclose(f);
        if (found) {
            return 1;
        }
    }
    return 0;
}

int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    static int (*real)(int, const struct sockaddr *, socklen_t);
    if (real == NULL) {
        real = next("connect");
    }
    in_addr_t pod = pod_address();
    if (pod == 0 || addr == NULL) {
        return real(fd, addr, len);
    }
    if (addr->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
        struct sockaddr_in copy;
        memcpy(&copy, addr, sizeof copy);
        if (copy.sin_addr.s_addr == htonl(INADDR_LOOPBACK) && pod_listens(pod, ntohs(copy.sin_port))) {
            copy.sin_addr.s_addr = pod;
            return real(fd, (struct sockaddr *)&copy, sizeof copy);
        }
    } else if (addr->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
        struct sockaddr_in6 copy;
        memcpy(&copy, addr, sizeof copy);
        if ((IN6_IS_ADDR_LOOPBACK(&copy.sin6_addr) || is_mapped_v4(&copy.sin6_addr, htonl(INADDR_LOOPBACK)))
            && pod_listens(pod, ntohs(copy.sin6_port))) {
            set_mapped_v4(&copy.sin6_addr, pod);
            copy.sin6_scope_id = 0;
            return real(fd, (struct sockaddr *)&copy, sizeof copy);
        }
    }
    return real(fd, addr, len);
}

int gethostname(char *name, size_t len)
{
    static int (*real)(char *, size_t);
    if (real == NULL) {
        real = next("gethostname");
    }
    const char *pod = getenv(ENV_HOSTNAME);
    if (pod == NULL || pod_address() == 0) {
        return real(name, len);
    }
    size_t n = strlen(pod);
    if (n + 1 > len) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(name, pod, n + 1);
    return 0;
}

int uname(struct utsname *buf)
{
    static int (*real)(struct utsname *);
    if (real == NULL) {
        real = next("uname");
    }
    int rc = real(buf);
    const char *pod = getenv(ENV_HOSTNAME);
    if (rc == 0 && pod != NULL && pod_address() != 0) {
        snprintf(buf->nodename, sizeof buf->nodename, "%s", pod);
    }
    return rc;
}

/* The address of `name` in the pod's hosts file (first match, names compared without case), as text; 0 if none. */
static int hosts_lookup(const char *name, char *address, size_t size)
{
    const char *path = getenv(ENV_HOSTS);
    if (name == NULL || path == NULL || pod_address() == 0) {
        return 0;
    }
    FILE *f = fopen(path, "re");
    if (f == NULL) {
        return 0;
    }
    char line[1024];
    int found = 0;
    while (!found && fgets(line, sizeof line, f) != NULL) {
        char *hash = strchr(line, '#');
        if (hash != NULL) {
            *hash = '\0';
        }
        char *save = NULL;
        char *ip = strtok_r(line, " \t\r\n", &save);
        if (ip == NULL) {
            continue;
        }
        for (char *alias = strtok_r(NULL, " \t\r\n", &save); alias != NULL; alias = strtok_r(NULL, " \t\r\n", &save)) {
            if (strcasecmp(alias, name) == 0 && strlen(ip) < size) {
                snprintf(address, size, "%s", ip);
                found = 1;
                break;
            }
        }
    }
    fclose(f);
    return found;
}

int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints, struct addrinfo **res)
{
    static int (*real)(const char *, const char *, const struct addrinfo *, struct addrinfo **);
    if (real == NULL) {
        real = next("getaddrinfo");
    }
    char address[INET6_ADDRSTRLEN];
    if (node == NULL || !hosts_lookup(node, address, sizeof address)) {
        return real(node, service, hints, res);
    }
    /* The real resolver turns the numeric address into results that honour the hints (family, socket type, service,
     * AI_V4MAPPED); only the canonical name is the one asked for. */
    struct addrinfo numeric;
    memset(&numeric, 0, sizeof numeric);
    if (hints != NULL) {
        numeric = *hints;
    }
    numeric.ai_flags |= AI_NUMERICHOST;
    numeric.ai_flags &= ~AI_ADDRCONFIG;
    int rc = real(address, service, &numeric, res);
    if (rc == 0 && (numeric.ai_flags & AI_CANONNAME) && *res != NULL) {
        char *canonical = strdup(node);
        if (canonical != NULL) {
            free((*res)->ai_canonname);
            (*res)->ai_canonname = canonical;
        }
    }
    return rc;
}

/* Fills a hostent for `name` at `address` (AF_INET or AF_INET6) in `buffer`; 0, or ERANGE when it is too small. */
static int fill_hostent(const char *name, int family, const void *address, struct hostent *out, char *buffer, size_t size)
{
    size_t length = family == AF_INET ? 4 : 16;
    size_t name_size = strlen(name) + 1;
    size_t need = sizeof(char *) * 3 + length + name_size + sizeof(char *);
    if (size < need) {
        return ERANGE;
    }
    char **addresses = (char **)buffer;
    char **aliases = addresses + 2;
    char *data = (char *)(aliases + 1);
    memcpy(data, address, length);
    char *copy = data + length;
    memcpy(copy, name, name_size);
    addresses[0] = data;
    addresses[1] = NULL;
    aliases[0] = NULL;
    out->h_name = copy;
    out->h_aliases = aliases;
    out->h_addrtype = family;
    out->h_length = (int)length;
    out->h_addr_list = addresses;
    return 0;
}

/* The hosts file's answer for `name` in `family` (AF_INET, or AF_INET6 as a v4-mapped address); 1 when found. */
static int hosts_address(const char *name, int family, unsigned char *out)
{
    char text[INET6_ADDRSTRLEN];
    if (!hosts_lookup(name, text, sizeof text)) {
        return 0;
    }
    struct in_addr v4;
    struct in6_addr v6;
    if (inet_pton(AF_INET, text, &v4) == 1) {
        if (family == AF_INET) {
            memcpy(out, &v4, 4);
            return 1;
        }
        set_mapped_v4(&v6, v4.s_addr);
        memcpy(out, &v6, 16);
        return 1;
    }
    if (family == AF_INET6 && inet_pton(AF_INET6, text, &v6) == 1) {
        memcpy(out, &v6, 16);
        return 1;
    }
    return 0;
}

int gethostbyname_r(const char *name, struct hostent *ret, char *buf, size_t buflen, struct hostent **result, int *h_errnop)
{
    static int (*real)(const char *, struct hostent *, char *, size_t, struct hostent **, int *);
    if (real == NULL) {
        real = next("gethostbyname_r");
    }
    unsigned char address[16];
    if (!hosts_address(name, AF_INET, address)) {
        return real(name, ret, buf, buflen, result, h_errnop);
    }
    int rc = fill_hostent(name, AF_INET, address, ret, buf, buflen);
    *result = rc == 0 ? ret : NULL;
    if (rc != 0 && h_errnop != NULL) {
        *h_errnop = NETDB_INTERNAL;
    }
    return rc;
}

static struct hostent *static_hostent(const char *name, int family, struct hostent *(*fallback)(void))
{
    static struct hostent entry;
    static char buffer[512];
    unsigned char address[16];
    if (!hosts_address(name, family, address)) {
        return fallback();
    }
    if (fill_hostent(name, family, address, &entry, buffer, sizeof buffer) != 0) {
        h_errno = NO_RECOVERY;
        return NULL;
    }
    return &entry;
}

static const char *pending_name;
static int pending_family;

static struct hostent *real_gethostbyname(void)
{
    static struct hostent *(*real)(const char *);
    if (real == NULL) {
        real = next("gethostbyname");
    }
    return real(pending_name);
}

static struct hostent *real_gethostbyname2(void)
{
    static struct hostent *(*real)(const char *, int);
    if (real == NULL) {
        real = next("gethostbyname2");
    }
    return real(pending_name, pending_family);
}

struct hostent *gethostbyname(const char *name)
{
    /* Not thread-safe, as the function itself is not. */
    pending_name = name;
    return static_hostent(name, AF_INET, real_gethostbyname);
}

struct hostent *gethostbyname2(const char *name, int family)
{
    pending_name = name;
    pending_family = family;
    if (family != AF_INET && family != AF_INET6) {
        return real_gethostbyname2();
    }
    return static_hostent(name, family, real_gethostbyname2);
}
