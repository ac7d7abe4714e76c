/* secret: a process holding a random secret in memory, for the remote-read
 * test of tests/hostile_test.go. It does not use the library.
 *
 *   secret
 *
 * Fills one page with a random string repeated, prints
 *     secret <pid> <address> <length> <string>
 * (address in hex with 0x) and sleeps until killed. */
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define SECRET_PAGE 4096

int main(void)
{
	unsigned char rnd[12];
	char secret[64];
	char *page;
	size_t len, off;
	int fd, i;

	fd = open("/dev/urandom", O_RDONLY);
	if (fd < 0 || read(fd, rnd, sizeof(rnd)) != (ssize_t)sizeof(rnd)) {
		perror("secret: /dev/urandom");
		return 1;
	}
	close(fd);
	strcpy(secret, "OMXSECRET-");
	for (i = 0; i < (int)sizeof(rnd); i++)
		sprintf(secret + strlen(secret), "%02x", rnd[i]);
	strcat(secret, "-END");
	len = strlen(secret);

	page = mmap(NULL, SECRET_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED) {
		perror("secret: mmap");
		return 1;
	}
	for (off = 0; off + len <= SECRET_PAGE; off += len)
		memcpy(page + off, secret, len);
	mlock(page, SECRET_PAGE);

	printf("secret %d 0x%" PRIxPTR " %d %s\n", (int)getpid(), (uintptr_t)page, SECRET_PAGE, secret);
	fflush(stdout);
	for (;;)
		pause();
	return 0;
}
