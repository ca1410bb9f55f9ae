// Files and directories under the preopened directory /sandbox: the host
// put input.txt there; this program leaves output.txt behind.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void check(int ok, const char *what) {
    if (!ok) {
        printf("FAILED: %s (errno %d: %s)\n", what, errno, strerror(errno));
        exit(1);
    }
}

static int compare(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(void) {
    // Read what the host wrote.
    char line[128];
    FILE *in = fopen("/sandbox/input.txt", "r");
    check(in != NULL, "open input.txt");
    while (fgets(line, sizeof line, in))
        printf("input: %s", line);
    fclose(in);

    // A directory with a file in it, written, read back, seeked, extended.
    check(mkdir("/sandbox/sub", 0755) == 0, "mkdir sub");
    FILE *out = fopen("/sandbox/sub/data.txt", "w");
    check(out != NULL, "create data.txt");
    fprintf(out, "line one\nline two\n");
    check(fclose(out) == 0, "close data.txt");

    int fd = open("/sandbox/sub/data.txt", O_RDWR);
    check(fd >= 0, "open data.txt");
    char word[4] = {0};
    check(lseek(fd, 5, SEEK_SET) == 5, "seek to 5");
    check(read(fd, word, 3) == 3, "read 3 bytes");
    printf("at 5: %s\n", word);
    off_t end = lseek(fd, 0, SEEK_END);
    printf("size by seek: %lld\n", (long long)end);
    check(write(fd, "tail\n", 5) == 5, "append");
    check(pwrite(fd, "LINE", 4, 0) == 4, "pwrite");
    check(pread(fd, word, 3, 9) == 3, "pread");
    printf("pread at 9: %s\n", word);
    struct stat st;
    check(fstat(fd, &st) == 0, "fstat");
    printf("size by fstat: %lld, regular: %d\n", (long long)st.st_size, S_ISREG(st.st_mode));
    check(ftruncate(fd, 9) == 0, "ftruncate");
    check(close(fd) == 0, "close");
    check(stat("/sandbox/sub/data.txt", &st) == 0, "stat");
    printf("size after truncate: %lld\n", (long long)st.st_size);

    // Rename, list, remove.
    check(rename("/sandbox/sub/data.txt", "/sandbox/sub/moved.txt") == 0, "rename");
    check(access("/sandbox/sub/data.txt", F_OK) != 0 && errno == ENOENT, "old name gone");
    check(symlink("moved.txt", "/sandbox/sub/link") == 0, "symlink");
    char target[64] = {0};
    check(readlink("/sandbox/sub/link", target, sizeof target - 1) > 0, "readlink");
    printf("link -> %s\n", target);
    check(mkdir("/sandbox/sub/inner", 0755) == 0, "mkdir inner");
    DIR *dir = opendir("/sandbox/sub");
    check(dir != NULL, "opendir");
    char *names[16];
    int count = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL && count < 16)
        names[count++] = strdup(entry->d_name);
    closedir(dir);
    qsort(names, count, sizeof names[0], compare);
    for (int i = 0; i < count; i++)
        printf("entry: %s\n", names[i]);
    check(rmdir("/sandbox/sub") != 0 && errno == ENOTEMPTY, "rmdir of a full directory fails");
    check(unlink("/sandbox/sub/link") == 0, "unlink link");
    check(unlink("/sandbox/sub/moved.txt") == 0, "unlink moved.txt");
    check(rmdir("/sandbox/sub/inner") == 0, "rmdir inner");
    check(rmdir("/sandbox/sub") == 0, "rmdir sub");
    check(stat("/sandbox/sub", &st) != 0 && errno == ENOENT, "sub gone");
    check(open("/sandbox/missing.txt", O_RDONLY) < 0 && errno == ENOENT, "missing file");

    // Something for the host to find.
    out = fopen("/sandbox/output.txt", "w");
    check(out != NULL, "create output.txt");
    fprintf(out, "written by wasm\n");
    fclose(out);
    printf("done\n");
    return 0;
}
