define i32 @f( {
