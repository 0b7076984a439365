/* zt_arm_cli.c - a token from the Azure CLI, for developer workstations:
 * `az account get-access-token --resource <arm> -o json [--tenant t]`,
 * run without a shell, with a timeout, its output never logged. */
#include "zt_arm_internal.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define MAX_OUT (256 * 1024)

typedef struct pipe_buf {
    int fd;
    char *data;
    size_t len, cap;
} pipe_buf;

typedef enum pipe_state { PIPE_OPEN, PIPE_DONE, PIPE_FULL } pipe_state;

/* Read what is available: still open, done (EOF or error), or full. */
static pipe_state pipe_read(pipe_buf *p)
{
    if (p->len + 4096 + 1 > p->cap) {
        if (p->cap >= MAX_OUT)
            return PIPE_FULL;
        size_t ncap = p->cap ? p->cap * 2 : 8192;
        char *nb = malloc(ncap);
        if (!nb)
            zt_panic("out of memory");
        if (p->data) {
            memcpy(nb, p->data, p->len);
            zt_arm_free_secret(p->data, p->cap);
        }
        p->data = nb;
        p->cap = ncap;
    }
    ssize_t n = read(p->fd, p->data + p->len, p->cap - p->len - 1);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return PIPE_OPEN;
    if (n <= 0)
        return PIPE_DONE;
    p->len += (size_t)n;
    p->data[p->len] = '\0';
    return PIPE_OPEN;
}

typedef int (*closefrom_fn)(posix_spawn_file_actions_t *fa, int from);

static closefrom_fn g_closefrom;

static void closefrom_lookup(void)
{
    *(void **)&g_closefrom = dlsym(RTLD_DEFAULT, "posix_spawn_file_actions_addclosefrom_np");
}

static closefrom_fn spawn_closefrom(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, closefrom_lookup);
    return g_closefrom;
}

static zt_rc spawn_az(const char *az, char *const argv[], pid_t *pid, int *out_fd, int *err_fd)
{
    int out[2], err[2];
    if (pipe2(out, O_CLOEXEC) != 0)
        return ZT_ERR_IO;
    if (pipe2(err, O_CLOEXEC) != 0) {
        close(out[0]);
        close(out[1]);
        return ZT_ERR_IO;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_adddup2(&fa, err[1], 2);
    /* Nothing else of ours reaches az: not the sockets of the ARM client
     * (with tokens in flight) nor gRPC's (libcurl's are close-on-exec too).
     * Looked up at run time: glibc has it from 2.34, release builds run on
     * older ones too. */
    closefrom_fn closefrom = spawn_closefrom();
    if (closefrom)
        closefrom(&fa, 3);
    int rc = posix_spawnp(pid, az, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(out[1]);
    close(err[1]);
    if (rc != 0) {
        close(out[0]);
        close(err[0]);
        return rc == ENOENT || rc == EACCES ? ZT_ERR_UNSUPPORTED : ZT_ERR_IO;
    }
    *out_fd = out[0];
    *err_fd = err[0];
    return ZT_OK;
}

/* Collect both pipes until EOF, the deadline, cancel or too much output
 * (ZT_ERR_DECODE); az is killed rather than waited for in the last three. */
static zt_rc collect(pid_t pid, pipe_buf *out, pipe_buf *err, int64_t deadline,
                     const atomic_bool *cancel, int *status)
{
    bool open_out = true, open_err = true;
    zt_rc rc = ZT_OK;
    while (open_out || open_err) {
        if (zt_arm_cancelled(cancel)) {
            rc = ZT_ERR_CANCELLED;
            break;
        }
        int64_t left = deadline - zt_arm_now_ms();
        if (left <= 0) {
            rc = ZT_ERR_TIMEOUT;
            break;
        }
        struct pollfd fds[2] = {{.fd = open_out ? out->fd : -1, .events = POLLIN},
                                {.fd = open_err ? err->fd : -1, .events = POLLIN}};
        int n = poll(fds, 2, (int)(left < 50 ? left : 50));
        if (n < 0 && errno != EINTR)
            break;
        pipe_state so = open_out && fds[0].revents ? pipe_read(out) : PIPE_OPEN;
        pipe_state se = open_err && fds[1].revents ? pipe_read(err) : PIPE_OPEN;
        if (so == PIPE_FULL || se == PIPE_FULL) {
            rc = ZT_ERR_DECODE; /* az would block writing the rest: never exit */
            break;
        }
        open_out = open_out && so == PIPE_OPEN;
        open_err = open_err && se == PIPE_OPEN;
    }
    if (rc != ZT_OK)
        kill(pid, SIGKILL);
    while (waitpid(pid, status, 0) < 0 && errno == EINTR)
        ;
    return rc;
}

zt_rc zt_arm_cli_token(zt_arena *a, const char *az_path, const char *resource,
                       const char *tenant_id, int64_t timeout_ms, const atomic_bool *cancel,
                       const char **token, int64_t *expires_on, zt_arm_error **err)
{
    const char *az = az_path && *az_path ? az_path : "az";
    char *argv[10];
    size_t n = 0;
    argv[n++] = (char *)az;
    argv[n++] = "account";
    argv[n++] = "get-access-token";
    argv[n++] = "--resource";
    argv[n++] = (char *)resource;
    argv[n++] = "-o";
    argv[n++] = "json";
    if (tenant_id && *tenant_id) {
        argv[n++] = "--tenant";
        argv[n++] = (char *)tenant_id;
    }
    argv[n] = NULL;

    *err = zt_arm_error_parse(a, 0, NULL, 0);
    pid_t pid;
    pipe_buf out = {0}, errb = {0};
    zt_rc rc = spawn_az(az, argv, &pid, &out.fd, &errb.fd);
    if (rc != ZT_OK) {
        (*err)->message = rc == ZT_ERR_UNSUPPORTED
                              ? zt_arena_printf(a, "the Azure CLI (%s) is not installed", az)
                              : "cannot run the Azure CLI";
        return rc;
    }
    int status = 0;
    rc = collect(pid, &out, &errb, zt_arm_now_ms() + timeout_ms, cancel, &status);
    close(out.fd);
    close(errb.fd);
    if (rc == ZT_OK && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
        /* az explains itself on stderr ("Please run 'az login'..."). */
        (*err)->code = "AzureCliError";
        (*err)->message = zt_arena_printf(a, "az account get-access-token failed: %s",
                                          errb.data ? zt_arm_trim(errb.data) : "no output");
        rc = ZT_ERR_REMOTE;
    } else if (rc == ZT_ERR_TIMEOUT) {
        (*err)->message = "az account get-access-token did not answer in time";
    } else if (rc == ZT_ERR_DECODE) {
        (*err)->message = "az account get-access-token printed more than the 256 KiB a token "
                          "answer takes";
    } else if (rc == ZT_OK) {
        rc = zt_arm_parse_token_response(a, out.data ? out.data : "", out.len,
                                         zt_arm_realtime_s(), token, expires_on);
        if (rc != ZT_OK)
            (*err)->message = "az account get-access-token printed no accessToken";
    }
    zt_arm_free_secret(out.data, out.cap);
    zt_arm_free_secret(errb.data, errb.cap);
    return rc;
}
