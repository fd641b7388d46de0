#include "sso_test.h"
int main(void){return sso_test_summary();}
