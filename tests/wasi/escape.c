// Attempts to leave the preopened directory /sandbox. The host made
// /sandbox/up a symlink to the directory above it and /sandbox/abs an
// absolute symlink to a file outside; next to the sandbox lies secret.txt.
// Every attempt must fail; each line shows the errno it failed with.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int failures;

static void refused(const char *what, int result) {
    if (result >= 0) {
        printf("%s: ESCAPED\n", what);
        failures++;
        return;
    }
    const char *name = errno == ENOTCAPABLE ? "ENOTCAPABLE"
                       : errno == EPERM     ? "EPERM"
                       : errno == ENOENT    ? "ENOENT"
                       : errno == EACCES    ? "EACCES"
                                            : strerror(errno);
    printf("%s: %s\n", what, name);
}

int main(void) {
    struct stat st;
    refused("open ../secret.txt", open("/sandbox/../secret.txt", O_RDONLY));
    refused("open sub/../../secret.txt", open("/sandbox/./../sandbox/../secret.txt", O_RDONLY));
    refused("open /etc/passwd", open("/etc/passwd", O_RDONLY));
    refused("open relative ../secret.txt", open("../secret.txt", O_RDONLY));
    refused("open through symlink up/", open("/sandbox/up/secret.txt", O_RDONLY));
    refused("open absolute symlink", open("/sandbox/abs", O_RDONLY));
    refused("stat through symlink up/", stat("/sandbox/up/secret.txt", &st));
    refused("create ../planted.txt", open("/sandbox/../planted.txt", O_WRONLY | O_CREAT, 0644));
    refused("mkdir ../planted", mkdir("/sandbox/../planted", 0755));
    refused("rename into ../", rename("/sandbox/mine.txt", "/sandbox/../stolen.txt"));
    refused("unlink ../secret.txt", unlink("/sandbox/../secret.txt"));
    refused("unlink up/secret.txt", unlink("/sandbox/up/secret.txt"));
    // A symlink may point anywhere; following it still may not leave.
    symlink("../secret.txt", "/sandbox/planted_link");
    refused("open planted symlink", open("/sandbox/planted_link", O_RDONLY));
    printf("%d escaped\n", failures);
    return failures;
}
