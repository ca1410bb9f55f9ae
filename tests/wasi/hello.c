// Arguments, environment, stdio and exit codes.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    printf("argc=%d\n", argc);
    for (int i = 1; i < argc; i++)
        printf("argv[%d]=%s\n", i, argv[i]);
    const char *greeting = getenv("GREETING");
    printf("GREETING=%s\n", greeting ? greeting : "(unset)");
    fprintf(stderr, "a line on stderr\n");
    // `exit N` leaves through proc_exit; `return N` through main's result.
    if (argc == 3 && strcmp(argv[1], "exit") == 0)
        exit(atoi(argv[2]));
    if (argc == 3 && strcmp(argv[1], "return") == 0)
        return atoi(argv[2]);
    return 0;
}
